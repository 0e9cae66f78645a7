import tarfile
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.ops import image


def test_content_key_depends_on_binary_dockerfile_and_probe_only():
    a = image.content_key("d1", b"FROM scratch\n", "p1")
    assert a == image.content_key("d1", b"FROM scratch\n", "p1")
    assert a != image.content_key("d2", b"FROM scratch\n", "p1")
    assert a != image.content_key("d1", b"FROM scratch\nUSER 1\n", "p1")
    assert a != image.content_key("d1", b"FROM scratch\n", "p2")


def test_context_holds_only_dockerfile_binary_and_probe(tmp_path):
    binary, probe = tmp_path / "svc-linux-amd64", tmp_path / "goswarm-probe-linux-amd64"
    binary.write_bytes(b"\x7fELF" + b"x" * 100)
    probe.write_bytes(b"\x7fELF")
    (tmp_path / "secret.txt").write_text("not in context")
    with tarfile.open(fileobj=image.context_tar(b"FROM scratch\n", {binary.name: binary, probe.name: probe})) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert set(members) == {"Dockerfile", "svc-linux-amd64", "goswarm-probe-linux-amd64"}
    assert members["svc-linux-amd64"].mode == 0o755 and members["svc-linux-amd64"].size == 104


def test_the_probe_is_copied_into_the_last_stage_of_a_users_dockerfile():
    own = b"FROM golang AS build\nRUN make\nFROM base\nADD svc-linux-amd64 /\nCMD [\"/svc-linux-amd64\"]\n"
    assert image.with_probe(own, "goswarm-probe-linux-amd64").endswith(
        b'CMD ["/svc-linux-amd64"]\n# added by goswarm: health checks and trial runs use it\n'
        b"COPY goswarm-probe-linux-amd64 /.goswarm/probe\n")


def test_push_result_returns_the_digest():
    events = [{"status": "Pushing"}, {"status": "done", "aux": {"Tag": "1", "Digest": "sha256:abc", "Size": 5}}]
    assert image.push_result(events) == "sha256:abc"


def test_push_result_raises_on_an_error_in_the_stream(monkeypatch):
    monkeypatch.setenv("REGISTRY_PASSWORD", "hunter2")
    events = [{"status": "Pushing"}, {"errorDetail": {"message": "denied for hunter2"}, "error": "denied"}]
    with pytest.raises(PipelineError) as e:
        image.push_result(events)
    assert "denied" in str(e.value) and "hunter2" not in str(e.value)


def test_push_without_digest_is_an_error():
    with pytest.raises(PipelineError, match="digest"):
        image.push_result([{"status": "Pushing"}])


def test_image_refs():
    img = image.Image("a", "reg:5000/p/a", "abc", "sha256:1")
    assert img.ref == "reg:5000/p/a:abc" and img.deploy_ref == "sha256:1"
    assert image.Image("a", "p/a", "abc", "sha256:1", "p/a:abc@sha256:2").deploy_ref == "p/a:abc@sha256:2"


SHIPPED = (Path(__file__).resolve().parents[2] / "Dockerfile").read_bytes()


def test_the_shipped_dockerfile_is_imported_in_one_call():
    assert image.scratch_plan(SHIPPED, "svc-linux-amd64") == ("/service", ["USER 65534:65534",
                                                                          'ENTRYPOINT ["/service"]'])


@pytest.mark.parametrize("dockerfile", [
    b"FROM alpine\nCOPY svc /svc\n",                               # a base image: the builder's job
    b"FROM scratch\nCOPY svc /svc\nRUN true\n",                    # RUN
    b"FROM scratch\nADD svc /svc\n",                               # ADD
    b"FROM scratch\nCOPY svc /svc\nCOPY other /other\n",           # a second file
    b"FROM scratch\nCOPY --chown=1:1 svc /svc\n",                  # flags
    b"FROM scratch\nCOPY svc /opt/\n",                             # a directory destination
    b"FROM scratch\nENTRYPOINT [\"/svc\"]\n",                      # no COPY at all
    b"FROM scratch\nARG OTHER\nCOPY svc /svc\n",                   # another build argument
    b"FROM scratch\nCOPY svc \\\n  /svc\n",                        # a continuation line
])
def test_anything_else_goes_to_the_builder(dockerfile):
    assert image.scratch_plan(dockerfile, "svc") is None


def test_a_plain_copy_by_name_with_config_instructions_is_imported():
    dockerfile = b"# comment\nFROM scratch\nCOPY svc /app\nENV A=1\nEXPOSE 80\nWORKDIR /\nCMD [\"-v\"]\n"
    assert image.scratch_plan(dockerfile, "svc") == ("/app", ["ENV A=1", "EXPOSE 80", "WORKDIR /", 'CMD ["-v"]'])
