"""io/drivers.py: what `docker-machine` prints, read without running it; the driver names."""
import json

import pytest

from goswarm.errors import PipelineError
from goswarm.io import drivers

INSPECT = {"Driver": {"IPAddress": "192.168.99.100", "SSHUser": "docker", "SSHPort": 50122,
                      "SSHKeyPath": "/root/.docker/machine/machines/m1/id_rsa"}}


def test_docker_machine_ip():
    assert drivers.parse_ip("192.168.99.100\n") == "192.168.99.100"


@pytest.mark.parametrize("printed", ["Error: host does not exist", "", "192.168.99", "192.168.99.100 extra"])
def test_anything_but_one_address_from_docker_machine_ip_is_an_error(printed):
    with pytest.raises(PipelineError, match="not an address"):
        drivers.parse_ip(printed)


def test_docker_machine_inspect_gives_the_user_and_key():
    assert drivers.parse_inspect(json.dumps(INSPECT)) == ("docker", "/root/.docker/machine/machines/m1/id_rsa")
    without_user = {"Driver": {"SSHKeyPath": "/k"}}
    assert drivers.parse_inspect(json.dumps(without_user)) == ("docker", "/k")


@pytest.mark.parametrize("printed", [
    "{}", "[]", "not json", '{"Driver": {"SSHUser": "u"}}',
    '{"Driver": null}',
])
def test_docker_machine_inspect_without_ssh_settings_is_an_error(printed):
    with pytest.raises(PipelineError, match="SSHKeyPath"):
        drivers.parse_inspect(printed)


def test_drivers_by_name():
    names = ("ssh", "netns", "rootfs", "virtualbox")
    assert [drivers.get(name).name for name in names] == list(names)
    with pytest.raises(PipelineError, match="unknown driver 'vmware'; drivers: ssh, netns, rootfs, virtualbox"):
        drivers.get("vmware")
