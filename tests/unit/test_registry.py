from goswarm.ops import registry


def test_the_registry_host_is_what_credentials_are_kept_under():
    assert registry.host("127.0.0.1:5000") == "127.0.0.1:5000"
    assert registry.host("reg.example.com:5000/team/") == "reg.example.com:5000"
    assert registry.host("/reg.example.com") == "reg.example.com"
