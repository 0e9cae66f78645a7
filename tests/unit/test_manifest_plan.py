import pytest

from goswarm.plan import manifest

INFO = {"InsecureRegistryCIDRs": ["127.0.0.0/8", "10.77.0.0/24"],
        "IndexConfigs": {"docker.io": {"Secure": True}, "reg.lan:5000": {"Secure": False},
                         "10.77.0.1:5000": {"Secure": True}}}


@pytest.mark.parametrize("host, insecure", [
    ("127.0.0.1:5000", True), ("localhost:5000", True), ("10.77.0.9:443", True),
    ("reg.lan:5000", True), ("10.77.0.1:5000", False),  # an explicit entry wins
    ("registry.example.com", False), ("192.168.1.5:5000", False), ("[::1]:5000", False),
])
def test_insecure_as_the_engine_says(host, insecure):
    assert manifest.insecure(host, INFO) is insecure


def test_a_list_and_the_digest_the_cli_printed():
    assert manifest.is_list({"mediaType": "application/vnd.oci.image.index.v1+json"})
    assert not manifest.is_list({"mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
    assert not manifest.is_list(None)
    sha = "sha256:" + "e" * 64
    assert manifest.pushed_digest(f"Pushed ref 127.0.0.1:5000/p/a@sha256:{'d' * 64} with digest: x\n{sha}\n") == sha
    assert manifest.pushed_digest("nothing") == ""
