"""Where a name given to SSH leads, from ~/.ssh/config text."""
import pytest

from goswarm.errors import ConfigError
from goswarm.io import sshconfig
from goswarm.io.sshconfig import Route

CONFIG = """
Host box
  HostName 10.77.0.5
  Port 2222
  User deploy
  IdentityFile /keys/box
  IdentityFile /keys/spare

Host inner
  HostName 127.0.0.1
  Port 2201
  ProxyJump bastion

Host bastion
  HostName 10.77.0.9
  User jumper
  IdentityFile /keys/bastion
  IdentitiesOnly yes

Host via-url
  ProxyJump ssh://ops@10.77.0.9:2200

Host piped
  HostName 10.0.0.7
  ProxyCommand ssh -W %h:%p bastion

Host two-hops
  ProxyJump bastion,box

Host jumps-again
  ProxyJump inner

Host 10.77.0.*
  User lab
"""


def test_an_alias_gives_hostname_port_user_and_identity_files():
    assert sshconfig.route("box", CONFIG) == Route(
        "box", "10.77.0.5", 2222, "deploy", identity_files=("/keys/box", "/keys/spare"))


def test_given_values_win_over_the_file():
    route = sshconfig.route("box", CONFIG, port=22, user="root", key="/keys/mine")
    assert (route.hostname, route.port, route.user, route.key) == ("10.77.0.5", 22, "root", "/keys/mine")
    assert route.identity_files == () and route.agent is False  # a given key is the only one offered


def test_a_name_the_file_does_not_know_keeps_the_defaults():
    assert sshconfig.route("web1", CONFIG) == Route("web1", "web1", 22, "root")
    assert sshconfig.route("web1", "") == Route("web1", "web1", 22, "root")


def test_patterns_apply_to_addresses():
    assert sshconfig.route("10.77.0.3", CONFIG).user == "lab"


def test_proxyjump_is_one_hop_looked_up_in_the_file_too():
    route = sshconfig.route("inner", CONFIG)
    assert (route.hostname, route.port, route.user) == ("127.0.0.1", 2201, "root")
    assert route.jump == Route("bastion", "10.77.0.9", 22, "jumper", identity_files=("/keys/bastion",),
                               agent=False)  # IdentitiesOnly: not the agent's keys
    assert sshconfig.route("via-url", CONFIG).jump == Route("10.77.0.9", "10.77.0.9", 2200, "ops")


def test_more_than_one_hop_is_one_line():
    with pytest.raises(ConfigError, match="reaching two-hops takes more than one ProxyJump hop"):
        sshconfig.route("two-hops", CONFIG)
    with pytest.raises(ConfigError, match="reaching inner takes more than one ProxyJump hop"):
        sshconfig.route("jumps-again", CONFIG)


def test_proxycommand_has_its_tokens_expanded():
    route = sshconfig.route("piped", CONFIG)
    assert route.proxy_command == "ssh -W 10.0.0.7:22 bastion" and route.jump is None


def test_a_malformed_file_or_port_is_one_line():
    with pytest.raises(ConfigError, match="Unparsable line"):
        sshconfig.route("box", "Host box\n  =oops\n")
    with pytest.raises(ConfigError, match="Port 'ssh' for box is not a port number"):
        sshconfig.route("box", "Host box\n  Port ssh\n")


def test_who_names_user_host_port_and_alias():
    assert sshconfig.route("box", CONFIG).who == "deploy@[10.77.0.5]:2222 (box)"
    assert sshconfig.route("10.0.0.1", "").who == "root@10.0.0.1"


def test_the_file_is_read_from_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert sshconfig.read() == ""
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(CONFIG)
    assert sshconfig.route("box", sshconfig.read()).port == 2222
