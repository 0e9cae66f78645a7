import pytest

from goswarm.ops import hostsetup


@pytest.mark.parametrize("text, expected", [
    ('ID=debian\nVERSION_ID="12"\n', True),
    ('ID=ubuntu\nID_LIKE=debian\n', True),
    ('ID=linuxmint\nID_LIKE="ubuntu debian"\n', True),
    ('ID=fedora\n', False),
    ('ID="alpine"\n', False),
])
def test_debian_like(text, expected):
    assert hostsetup.debian_like(text) is expected


def test_manual_steps_say_what_to_install():
    text = hostsetup.manual_steps(["go", "dockerd"])
    assert "Go (https://go.dev/doc/install)" in text and "Docker" in text and "goswarm setup" in text


def test_haproxy_is_needed_only_for_an_http_edge():
    from types import SimpleNamespace

    from goswarm.plan.config import Service

    def cfg(*services):
        return SimpleNamespace(services={s.name: s for s in services})

    plain = Service("a", None, 80)
    assert hostsetup.needed(cfg(plain)) == ["go", "dockerd"]
    assert hostsetup.needed(cfg(plain, Service("b", None, 80, publish=80, publish_mode="edge"))) == [
        "go", "dockerd", "haproxy"]
    assert "haproxy" not in hostsetup.needed(cfg(Service("t", None, 5432, publish=5432, publish_mode="edge",
                                                         protocol="tcp")))
