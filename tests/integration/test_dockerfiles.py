"""A user's Dockerfile as written (issue 16): it belongs to its service and never to goswarm's edge; the files
its COPY lines name are in the context; a multi-stage build whose final stage copies only the Go binary takes
the one goswarm compiled (no Go image needed); one that does more is built as written; a missing base image is
named in one line, and nothing is deployed."""
import io
import os
import tarfile

import pytest

from helpers import SUFFIX, assert_one_line_error, free_port, http_get, running_image, wait_for

SERVE = """package main

import (
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		data, err := os.ReadFile(%s)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Write(data)
	})
	http.ListenAndServe(":7291", nil)
}
"""


def go_project(directory, file_in_image: str, dockerfile: str, extra: dict = None):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "go.mod").write_text("module example.com/svc\n\ngo 1.21\n")
    (directory / "main.go").write_text(SERVE % f'"{file_in_image}"')
    (directory / "Dockerfile").write_text(dockerfile)
    for name, text in (extra or {}).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)


def configure(project, name: str, path, **fields) -> int:
    port = free_port()
    project.names.append(name)
    project.config["services"][name] = {"path": str(path), "port": 7291, "publish": port, "publish_mode": "edge",
                                        "healthcheck": {"tcp": True}, **fields}
    project.names.append(f"{name}-edge")
    return port


def test_a_root_dockerfile_is_its_services_and_never_the_edges(swarm):
    """Issue 16's repro: a root Dockerfile that copies svc-linux-amd64 and config.json; the edge was built FROM it."""
    go_project(swarm.tmp, "/config.json", 'FROM scratch\nCOPY svc-linux-amd64 /svc\nCOPY config.json /\n'
                                          'ENTRYPOINT ["/svc"]\n', {"config.json": '{"from": "the context"}',
                                                                    "secret.env": "TOKEN=x",
                                                                    ".dockerignore": "*.env\n"})
    name = f"it{SUFFIX}-rootdf"
    port = configure(swarm, name, swarm.tmp)
    swarm.inv("redeploy", "--service", name)
    assert wait_for(lambda: http_get(f"http://127.0.0.1:{port}/file"), 30, "the service") == '{"from": "the context"}'
    ref = swarm.service(f"{name}-edge")["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]
    edge = swarm.engine.images.get(ref.rsplit("@", 1)[-1])
    assert edge.attrs["Config"]["Entrypoint"] != ["/svc"]  # goswarm's own Dockerfile, not the user's
    service = swarm.engine.images.get(running_image(swarm, name).rsplit("@", 1)[-1])
    assert service.attrs["Config"]["Entrypoint"] == ["/svc"]


def test_a_multi_stage_build_takes_the_binary_goswarm_compiled(swarm, engine):
    """FROM golang ... RUN go build ... FROM scratch + COPY --from=build: no golang image is on this engine, and
    none is needed."""
    assert not [i for i in engine.images.list() if any(t.startswith("golang:1.22-it") for t in i.tags)]
    source = swarm.tmp / "multi"
    go_project(source, "/etc/motd", f"FROM golang:1.22-it{SUFFIX} AS build\nWORKDIR /src\nCOPY . .\n"
                                    "RUN CGO_ENABLED=0 go build -o /app .\nFROM scratch\nCOPY motd /etc/motd\n"
                                    "COPY --from=build /app /app\nENTRYPOINT [\"/app\"]\n", {"motd": "multi-stage"})
    name = f"it{SUFFIX}-multi"
    port = configure(swarm, name, source)
    result = swarm.inv("redeploy", "--service", name)
    assert "the Dockerfile's final stage only copies the Go binary: compiled on this host, put at /app" in \
        result.output
    assert wait_for(lambda: http_get(f"http://127.0.0.1:{port}/file"), 30, "the service") == "multi-stage"


def test_a_dockerfile_whose_stages_make_files_is_built_as_written(swarm):
    source = swarm.tmp / "written"
    go_project(source, "/data.txt", "FROM scratch AS files\nCOPY data.txt /data.txt\nFROM scratch\nARG BINARY\n"
                                    "COPY --from=files /data.txt /data.txt\nCOPY ${BINARY} /svc\n"
                                    "ENTRYPOINT [\"/svc\"]\n", {"data.txt": "from stage files"})
    name = f"it{SUFFIX}-written"
    port = configure(swarm, name, source)
    result = swarm.inv("redeploy", "--service", name)
    assert "built as written: its final stage takes files that stage files makes" in result.output
    assert wait_for(lambda: http_get(f"http://127.0.0.1:{port}/file"), 30, "the service") == "from stage files"


@pytest.fixture
def stand_in(engine):
    """A base image name no registry has; the test provides it as an empty `docker import` when it says so."""
    ref = f"example.invalid/it-base-{SUFFIX}:nonroot"
    yield ref
    if engine.images.list(name=ref):
        engine.api.remove_image(ref)  # its name only: the test's service images are built on it


def test_a_missing_base_image_is_named_in_one_line_and_nothing_is_deployed(swarm, engine, stand_in):
    source = swarm.tmp / "based"
    go_project(source, "/LICENSE", f"FROM {stand_in}\nARG BIN_NAME\nCOPY dist/$TARGETOS/$TARGETARCH/$BIN_NAME /\n"
                                   "COPY LICENSE /\nENTRYPOINT [\"/based\"]\n", {"LICENSE": "MPL"})
    name = f"it{SUFFIX}-based"
    port = configure(swarm, name, source, build_args={"BIN_NAME": "based"})
    result = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(result, f"needs {stand_in}, which this engine does not have", "docker import",
                          "nothing was deployed")
    assert swarm.service(name) is None and swarm.service(f"{name}-edge") is None
    empty = io.BytesIO()
    tarfile.open(fileobj=empty, mode="w").close()
    engine.api.import_image_from_data(empty.getvalue(), repository=stand_in.rsplit(":", 1)[0], tag="nonroot")
    result = swarm.inv("redeploy", "--service", name)
    assert "compiled on this host, put at /based" in result.output
    assert wait_for(lambda: http_get(f"http://127.0.0.1:{port}/file"), 30, "the service") == "MPL"
    assert os.path.exists(swarm.tmp / "dist" / f"{name}-linux-amd64")
