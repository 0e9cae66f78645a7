"""io/netns.py without making a machine: what it reads from `ip` (answered here by a runner that plays back
output recorded from a host with three netns machines), and whose processes it would act on.
(Making and destroying machines is tests/integration/test_netns.py.)"""
import os

import pytest
from invoke.runners import Result

from goswarm.errors import PipelineError
from goswarm.io import netns
from goswarm.io.shell import Shell

IP_NETNS_LIST = "goswarm-benchci-2 (id: 8)\ngoswarm-benchci-1 (id: 7)\nsomeone-else (id: 2)\n"
ADDR_SHOW = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet {address}/24 scope global eth0\\       valid_lft forever preferred_lft forever
7: docker_gwbridge    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker_gwbridge\\       valid_lft forever \
preferred_lft forever
"""


class Host:
    """Answers `ip` commands as a host did; records every call."""

    def __init__(self, answers: dict):
        self.answers, self.calls = answers, []

    def __call__(self, command, **kwargs):
        self.calls.append((command, kwargs))
        exited, stdout, stderr = self.answers[command]
        return Result(stdout=stdout, stderr=stderr, exited=exited, command=command)


def test_the_addresses_in_use_are_those_of_our_namespaces():
    host = Host({
        "ip netns list": (0, IP_NETNS_LIST, ""),
        "ip -n goswarm-benchci-2 -4 -o addr show": (0, ADDR_SHOW.format(address="10.77.0.3"), ""),
        "ip -n goswarm-benchci-1 -4 -o addr show": (0, ADDR_SHOW.format(address="10.77.0.2"), ""),
    })
    assert netns.addresses_in_use(Shell(host, dry=True)) == {"10.77.0.2", "10.77.0.3"}
    assert [command for command, _ in host.calls] == ["ip netns list", "ip -n goswarm-benchci-2 -4 -o addr show",
                                                       "ip -n goswarm-benchci-1 -4 -o addr show"]
    assert all(kwargs["dry"] is False for _, kwargs in host.calls)  # reads: a dry plan must see what is there


def test_a_namespace_that_went_away_meanwhile_holds_no_address():
    host = Host({"ip netns list": (0, "goswarm-gone (id: 3)\n", ""),
                 "ip -n goswarm-gone -4 -o addr show": (1, "", 'Cannot open network namespace "goswarm-gone"\n')})
    assert netns.addresses_in_use(Shell(host)) == set()


def test_a_host_that_cannot_list_namespaces_is_one_error():
    host = Host({"ip netns list": (1, "", "RTNETLINK answers: Operation not permitted\n")})
    with pytest.raises(PipelineError) as e:
        netns.addresses_in_use(Shell(host))
    assert str(e.value) == "listing network namespaces failed: RTNETLINK answers: Operation not permitted"


def test_a_pid_is_our_engine_only_while_it_is_a_dockerd_of_that_machine():
    extras = netns.planned("web-1", "10.77.0.9")
    assert not netns.engine_running(extras)  # pid 0: never started
    extras["pids"]["dockerd"] = os.getpid()  # a live pid, but this python, not the machine's dockerd
    assert not netns.engine_running(extras)
    assert not netns.engine_running({**extras, "pids": {"dockerd": "1"}})  # a record someone edited

