"""Every mistake a user can make gets one line, a non-zero exit, and changes nothing."""
import socket
import subprocess
import sys
import time

from helpers import ROOT, assert_one_line_error, free_port, service_images


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
    images_before = service_images(engine, name)
    main_go = swarm.source("quotes-service")
    main_go.write_text(main_go.read_text() + "\nfunc broken() { return 1 }\n")
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(result, "compile failed for", name)
    assert "too many return values" in result.stdout  # the compiler's own message is shown
    assert swarm.service(name)["Version"] == before["Version"]
    assert service_images(engine, name) == images_before


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
    assert_one_line_error(result, "an environment variable (INVOKE_*) does not fit its config key", "'soon'")


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


def test_config_files_invoke_cannot_merge_or_read_are_one_line(project, tmp_path):
    project.add_service("quotes-service", port=8080)
    for name, text, message in (
        ("list.yaml", "services: [a, b]\n", "list.yaml: `services` must be a mapping of settings, got list"),
        ("string.yaml", "services: hello\n", "string.yaml: `services` must be a mapping of settings, got str"),
        ("deploy.yaml", "deploy: 5\n", "deploy.yaml: `deploy` must be a mapping of settings, got int 5"),
        ("no-suffix", "deploy: {}\n", "no-suffix: its name must end in .yaml, .yml, .json or .py"),
    ):
        bad = tmp_path / name
        bad.write_text(text)
        result = subprocess.run([sys.executable, "-m", "invoke", "-f", str(bad), "build"], cwd=ROOT,
                                capture_output=True, text=True, env=project.environ())
        result.output = result.stdout + result.stderr
        assert_one_line_error(result, message)


def test_a_service_path_outside_the_project_is_refused(project):
    name = project.add_service("quotes-service", port=8080)
    project.config["services"][name]["path"] = "../.."
    result = project.inv("build", "--service", name, check=False)
    assert_one_line_error(result, f"services.{name}.path: ../.. is outside the project root")


def test_an_env_file_that_is_not_utf8(project):
    project.add_service("quotes-service", port=8080)
    project.env_file.write_bytes(b"MANAGER_IP=127.0.0.1\nREGISTRY_PASSWORD=caf\xe9\n")
    result = project.inv("deploy", check=False)
    assert_one_line_error(result, ".env is not UTF-8 text (byte 0xe9 on line 2)")


def test_a_service_flag_that_names_no_service(project):
    project.add_service("quotes-service", port=8080)
    for empty in ("", " , "):
        result = project.inv("redeploy", "--service", empty, check=False)
        assert_one_line_error(result, f"--service {empty!r} names no service; known services:")


def test_two_services_on_one_published_port_are_refused_before_any_change(swarm):
    port = free_port()
    first = swarm.add_service("accountservice", port=6767, publish=port, publish_mode="edge")
    second = swarm.add_service("quotes-service", port=8080, publish=port)
    result = swarm.inv("redeploy", "--service", f"{first},{second}", check=False)
    assert_one_line_error(result, f"services.{first} and services.{second} both publish port {port}")
    assert swarm.service(first) is None and swarm.service(second) is None


def test_a_platform_no_node_runs_is_refused_before_compiling(swarm):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.config["build"]["platforms"] = "linux/amd64,windows/amd64"
    started = time.monotonic()
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(result, "build.platforms has windows/amd64, but the swarm's nodes run linux")
    assert time.monotonic() - started < 10 and not (swarm.tmp / "dist").exists()


def test_a_dry_build_says_it_would_build(project):
    name = project.add_service("quotes-service", port=8080)
    result = project.inv("build", "--service", name, dry=True)
    assert f"[dry] would build {project.tmp / 'dist' / name}-linux-amd64" in result.output
    assert "\nbuilt " not in result.output and not (project.tmp / "dist").exists()
