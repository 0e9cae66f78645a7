import pytest

from goswarm.plan import live

from .recorded import payload


@pytest.mark.parametrize("image, command, args, want", [
    ({"Entrypoint": ["/service"], "Cmd": None}, (), (), ["/service"]),
    ({"Entrypoint": ["/service"], "Cmd": ["-port", "1"]}, (), (), ["/service", "-port", "1"]),
    ({"Entrypoint": ["/service"], "Cmd": ["-port", "1"]}, (), ("-v",), ["/service", "-v"]),
    ({"Entrypoint": ["/service"], "Cmd": ["-port", "1"]}, ("/other",), (), ["/other"]),
    ({"Entrypoint": ["/service"]}, ("/other",), ("-x",), ["/other", "-x"]),
    ({"Cmd": ["./app"]}, (), (), ["./app"]),
    ({}, (), (), []),
])
def test_the_command_is_the_engines_merge_of_image_and_spec(image, command, args, want):
    assert live.command(image, command, args) == want


@pytest.mark.parametrize("argv, workdir, want", [
    (["/service"], "", "/service"),
    (["./accountservice-linux-amd64"], "", "/accountservice-linux-amd64"),
    (["./bin/app", "-x"], "/srv", "/srv/bin/app"),
    (["/bin/sh", "-c", "exec /app"], "", None),
    (["tini", "--", "/app"], "", None),
    (["app"], "/srv", None),  # looked up on PATH
    ([], "", None),
])
def test_the_binary_is_the_program_the_task_starts(argv, workdir, want):
    assert live.binary_path(argv, workdir) == want


def test_a_supervised_spec_runs_the_program_under_the_probe_and_is_no_release():
    spec = payload("service-inspect")["Spec"]
    spec["TaskTemplate"]["ContainerSpec"]["Args"] = ["-old"]
    want = live.supervised(spec, ["/service", "-port", "6767"], "/service")
    container = want["TaskTemplate"]["ContainerSpec"]
    assert container["Command"] == ["/.goswarm/probe", "-supervise", "-grace", live.GRACE, "--",
                                    "/service", "-port", "6767"]
    assert "Args" not in container and container["Image"] == spec["TaskTemplate"]["ContainerSpec"]["Image"]
    assert live.live_binary(want) == "/service" and live.live_binary(spec) is None
    assert want["Labels"]["io.goswarm.service"] == spec["Labels"]["io.goswarm.service"]
    assert spec["TaskTemplate"]["ContainerSpec"]["Args"] == ["-old"]  # the given spec is left as it was


@pytest.mark.parametrize("files, want", [
    (["main.go"], True),
    (["handlers/accounts.go", "go.mod", "go.sum"], True),
    (["Dockerfile"], False),
    (["main.go", "docker/Dockerfile.prod"], False),
    ([".dockerignore"], False),
    ([], False),
])
def test_only_a_change_of_code_is_swapped(files, want):
    assert live.swappable(files) is want
