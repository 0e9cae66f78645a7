"""machine.* on a real netns machine, and the virtualbox driver without VirtualBox."""
import subprocess

from helpers import SUFFIX, assert_one_line_error

NAME = f"m{SUFFIX}"


def test_netns_machine_lifecycle(project, tmp_path):
    project.extra_env = {"MACHINES_DIR": str(tmp_path / "machines")}
    project.add_service("quotes-service", port=8080)
    try:
        created = project.inv("machine.create", NAME, "--driver", "netns")
        assert f"machine {NAME}: created (netns, root@10.77.0." in created.output
        address = project.inv("machine.ip", NAME).output.strip()
        assert address.startswith("10.77.0.")
        assert project.inv("machine.env", NAME).output.startswith(f"export DOCKER_HOST=ssh://root@{address}\n")
        assert "no change" in project.inv("machine.create", NAME, "--driver", "netns").output
        listing = project.inv("machine.ls").output
        row = next(line for line in listing.splitlines() if line.startswith(NAME))
        assert " netns " in row and " yes " in row and "inactive" in row
        key = (tmp_path / "machines" / NAME / "id_ed25519").read_text()
        assert key.splitlines()[1] not in created.output + listing
        assert (tmp_path / "machines" / NAME / "id_ed25519").stat().st_mode & 0o777 == 0o600
    finally:
        removed = project.inv("machine.rm", NAME, check=False)
    assert removed.returncode == 0, removed.output
    assert f"goswarm-{NAME}" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert not (tmp_path / "machines" / NAME).exists()
    assert "does not exist, no change" in project.inv("machine.rm", NAME).output
    assert_one_line_error(project.inv("machine.ip", NAME, check=False), f"unknown machine {NAME!r}")


def test_virtualbox_driver_dry_run_and_refusal(project, tmp_path):
    project.extra_env = {"MACHINES_DIR": str(tmp_path / "machines"), "PATH": "/usr/bin:/bin"}
    project.add_service("quotes-service", port=8080)
    image = tmp_path / "cloud.raw"
    image.write_bytes(b"")
    dry = project.inv("machine.create", "vm1", "--driver", "virtualbox", "--image", str(image), dry=True)
    assert "VBoxManage createvm --name vm1 --ostype Debian_64 --register" in dry.output
    assert "VBoxManage startvm vm1 --type headless" in dry.output
    refused = project.inv("machine.create", "vm1", "--driver", "virtualbox", "--image", str(image), check=False)
    assert_one_line_error(refused, "VBoxManage is not installed", "--driver qemu")
    assert_one_line_error(project.inv("machine.create", "vm1", "--driver", "hyperv", check=False),
                          "unknown driver 'hyperv'")
