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
