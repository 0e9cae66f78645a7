"""Every mistake a user can make gets one line, a non-zero exit, and changes nothing."""
import socket
import subprocess
import sys

from helpers import ROOT, assert_one_line_error, free_port


def test_engine_unreachable(project):
    project.add_service("quotes-service", port=8080)
    for task in ("swarm.status", "deploy", "swarm.init"):
        result = project.inv(task, env={"DOCKER_HOST": "unix:///tmp/no-such-engine.sock"}, check=False)
        assert_one_line_error(result, "cannot reach the Docker engine at unix:///tmp/no-such-engine.sock")


def test_go_missing(project, tmp_path):
    project.add_service("quotes-service", port=8080)
    empty = tmp_path / "bin"
    empty.mkdir()
    result = project.inv("build", env={"PATH": str(empty)}, check=False)
    assert_one_line_error(result, "Go is not installed", "apt-get install golang-go")


def test_compile_error_builds_no_image_and_touches_no_service(swarm, engine):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.inv("redeploy", "--service", name)
    before = swarm.service(name)
    images_before = {i.id for i in engine.images.list()}
    main_go = swarm.source("quotes-service")
    main_go.write_text(main_go.read_text() + "\nfunc broken() { return 1 }\n")
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(result, "compile failed for", name)
    assert "too many return values" in result.stdout  # the compiler's own message is shown
    assert swarm.service(name)["Version"] == before["Version"]
    assert {i.id for i in engine.images.list()} == images_before


def test_unknown_service_lists_the_known_ones(project):
    project.add_service("quotes-service", port=8080)
    result = project.inv("redeploy", "--service", "nope", check=False)
    assert_one_line_error(result, "unknown service 'nope'", "accountservice", project.names[0])


def test_unknown_platform_lists_the_valid_ones(project):
    project.add_service("quotes-service", port=8080)
    result = project.inv("build", "--platform", "linux/amd46", check=False)
    assert_one_line_error(result, "unknown platform 'linux/amd46'", "linux/arm64", "windows/amd64")


def test_cross_compiles_for_every_platform(project):
    name = project.add_service("quotes-service", port=8080)
    project.inv("build", "--service", name, "--platform", "linux/amd64,linux/arm64,linux/arm/v7")
    for suffix in ("linux-amd64", "linux-arm64", "linux-arm-v7"):
        binary = project.tmp / "dist" / f"{name}-{suffix}"
        assert binary.stat().st_size > 100_000
    header = (project.tmp / "dist" / f"{name}-linux-arm64").read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and header[18] == 183  # e_machine EM_AARCH64


def test_malformed_config_file(project, tmp_path):
    for name, text in (("bad.yaml", "services: [unclosed\n"), ("bad.json", "{\"services\": ")):
        bad = tmp_path / name
        bad.write_text(text)
        result = subprocess.run([sys.executable, "-m", "invoke", "-f", str(bad), "build"], cwd=ROOT,
                                capture_output=True, text=True)
        result.output = result.stdout + result.stderr
        assert_one_line_error(result, "malformed config")


def test_invoke_variable_of_the_wrong_type(project):
    project.add_service("quotes-service", port=8080)
    result = project.inv("deploy", env={"INVOKE_DEPLOY_TIMEOUT": "soon"}, check=False)
    assert_one_line_error(result, "INVOKE_* environment variable", "'soon'")


def test_malformed_env_file(project):
    project.add_service("quotes-service", port=8080)
    project.env_file.write_text("MANAGER_IP=127.0.0.1\nREGISTRY_PASSWORD=\"hunter2\n")
    result = project.inv("deploy", check=False)
    assert_one_line_error(result, ".env line 2 is not KEY=VALUE")
    assert "hunter2" not in result.output


def test_wrong_service_field_is_named(project):
    name = project.add_service("quotes-service", port="eighty")
    result = project.inv("build", check=False)
    assert_one_line_error(result, f"services.{name}.port must be a port number")
    project.config["services"][name] = {"port": 8080}
    assert_one_line_error(project.inv("build", check=False), f"services.{name}.path is missing")


def test_published_port_already_taken(swarm):
    with socket.socket() as squatter:
        squatter.bind(("0.0.0.0", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        name = swarm.add_service("accountservice", port=6767, publish=port, smoke="/health")
        result = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(result, f"port {port} is already taken")
    assert swarm.service(name) is None


def test_port_published_by_another_service(swarm):
    port = free_port()
    first = swarm.add_service("accountservice", port=6767, publish=port, smoke="/health")
    swarm.inv("redeploy", "--service", first)
    # The first is now someone else's service: deployed, but in no config of this project.
    swarm.config["services"]["it-other"] = swarm.config["services"].pop(first)
    swarm.names.append("it-other")
    result = swarm.inv("redeploy", "--service", "it-other", check=False)
    assert_one_line_error(result, f"port {port} is already published by service {first}")
    assert swarm.service("it-other") is None


def test_flags_that_are_not_numbers(project):
    name = project.add_service("quotes-service", port=8080)
    for args, flag in ((("deploy.scale", "--service", name, "--replicas", "two"), "--replicas"),
                       (("redeploy", "--service", name, "--timeout", "soon"), "--timeout"),
                       (("image.run", "--service", name, "--port", "http"), "--port"),
                       (("lab.up", "--nodes", "-1"), "--nodes")):
        assert_one_line_error(project.inv(*args, check=False), flag)
