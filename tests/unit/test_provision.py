"""plan/provision.py: what `machine.provision --install` writes on a host, and how it reads apt's and the
engine's answers."""
import json
import subprocess

import pytest

from goswarm.errors import PipelineError
from goswarm.plan import provision

APT_INSTALL = """Reading package lists...
Building dependency tree...
The following NEW packages will be installed:
  containerd docker.io iptables runc tini
Need to get 39.5 MB of archives.
After this operation, 161 MB of additional disk space will be used.
"""


def test_the_daemon_config_keeps_what_the_host_has_and_adds_each_registry_once():
    current = {"log-driver": "journald", "insecure-registries": ["10.0.0.5:5000"]}
    wanted = provision.daemon_config(current, ["10.0.0.5:5000", "10.77.0.0/24"], ["http://10.77.0.1:5001"])
    assert wanted == {"log-driver": "journald", "insecure-registries": ["10.0.0.5:5000", "10.77.0.0/24"],
                      "registry-mirrors": ["http://10.77.0.1:5001"]}
    assert provision.daemon_config(wanted, ["10.77.0.0/24"]) == wanted  # nothing new: no change
    assert provision.daemon_config({}, (), ()) == {}


@pytest.mark.parametrize("text, expected", [("", {}), ("  \n", {}), ('{"debug": true}', {"debug": True})])
def test_daemon_json_is_read(text, expected):
    assert provision.parse_daemon_json(text) == expected


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_a_daemon_json_that_is_no_object_is_one_clear_error(text):
    with pytest.raises(PipelineError, match="/etc/docker/daemon.json on the host is not"):
        provision.parse_daemon_json(text)


def test_apt_says_what_it_downloads():
    assert provision.downloaded(APT_INSTALL) == "39.5 MB"
    assert provision.downloaded("Need to get 1,024 kB/39.5 MB of archives.") == "1,024 kB"
    assert provision.downloaded("0 upgraded, 0 newly installed") == ""


def test_an_apt_failure_is_its_error_line():
    err = ("W: Some index files failed to download.\n"
           "E: Unable to locate package docker.io\nE: second error\n")
    assert provision.failure(err) == "E: Unable to locate package docker.io"
    assert provision.failure("", "sudo: a password is required\n") == "sudo: a password is required"
    assert provision.failure("", "") == "no output"


@pytest.mark.parametrize("url", ["10.77.0.1:3142", "ftp://x", "http://a b", "", "http://h:1/path?x"])
def test_a_proxy_or_mirror_that_is_no_http_url_is_refused(url):
    with pytest.raises(PipelineError, match="give it as http://HOST:PORT"):
        provision.check_url("--apt-proxy", url)


def test_urls_and_registries_that_are_fine():
    assert provision.check_url("--apt-proxy", "http://10.77.0.1:3142/") == "http://10.77.0.1:3142"
    assert provision.check_registry("10.77.0.0/24") == "10.77.0.0/24"
    assert provision.check_registry("registry.lan:5000") == "registry.lan:5000"
    with pytest.raises(PipelineError, match="HOST:PORT or a CIDR"):
        provision.check_registry("http://x:5000")
    assert provision.split_list("a, b,,c") == ["a", "b", "c"]
    assert provision.split_list(None) == []
    assert provision.split_list(["x", " "]) == ["x"]


def test_the_written_file_arrives_whole_through_a_real_shell(tmp_path):
    target = tmp_path / "etc" / "docker" / "daemon.json"
    text = json.dumps({"insecure-registries": ["10.77.0.0/24"], "quote": "it's"}) + "\n"
    subprocess.run(["sh", "-c", provision.write_file(str(target), text)], check=True)
    assert target.read_text() == text
    assert not target.with_name("daemon.json.goswarm").exists()
    assert provision.apt_proxy_conf("http://10.77.0.1:3142") == 'Acquire::http::Proxy "http://10.77.0.1:3142";\n'


def test_the_engine_s_registry_config_is_compared_with_what_was_asked():
    recorded = {"InsecureRegistryCIDRs": ["10.77.0.0/24", "127.0.0.0/8"],
                "IndexConfigs": {"docker.io": {"Secure": True}, "reg.lan:5000": {"Secure": False}}}
    assert provision.missing_registries(recorded, ["10.77.0.0/24", "reg.lan:5000"]) == []
    assert provision.missing_registries(recorded, ["10.9.0.0/16"]) == ["10.9.0.0/16"]
    assert provision.missing_registries({}, ["a:1"]) == ["a:1"]


def test_install_and_start_speak_sudo_for_a_user_that_is_not_root():
    assert provision.install_command().startswith("env DEBIAN_FRONTEND=noninteractive sh -c 'apt-get update")
    assert "docker.io" in provision.install_command()
    assert provision.install_command("sudo -n ").startswith("sudo -n env ")
    assert "systemctl restart docker" in provision.start_command()
    assert "setsid nohup dockerd" in provision.start_command()


def test_apparmor_comes_with_docker_only_where_the_kernel_enforces_it(tmp_path):
    # the command as a shell runs it, with an apt-get that says what it was asked to install
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "apt-get").write_text('#!/bin/sh\necho "apt-get $*"\n')
    (bin_dir / "apt-get").chmod(0o755)
    enabled = tmp_path / "enabled"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}

    def installs(flag: str) -> str:
        enabled.write_text(flag)
        out = subprocess.run(["sh", "-c", provision.install_command(apparmor=str(enabled))], env=env,
                             capture_output=True, text=True, check=True).stdout
        return out.splitlines()[-1]

    assert installs("Y\n") == "apt-get install -y --no-install-recommends docker.io apparmor"
    assert installs("N\n") == "apt-get install -y --no-install-recommends docker.io"
    enabled.unlink()  # a kernel without AppArmor at all
    out = subprocess.run(["sh", "-c", provision.install_command(apparmor=str(enabled))], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "apt-get install -y --no-install-recommends docker.io"
