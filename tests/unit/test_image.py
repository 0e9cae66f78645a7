import re
import tarfile
from pathlib import Path

import pytest

from goswarm.errors import PipelineError
from goswarm.ops import image
from goswarm.plan import config


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


def test_content_key_covers_the_other_files_of_the_context_and_keeps_old_keys():
    a = image.content_key("d1", b"FROM x\n", "p1", {"hc-linux-amd64": "h1"})
    assert a == image.content_key("d1", b"FROM x\n", "p1", {"hc-linux-amd64": "h1"})
    assert a != image.content_key("d1", b"FROM x\n", "p1", {"hc-linux-amd64": "h2"})
    assert a != image.content_key("d1", b"FROM x\n", "p1", {"hc2-linux-amd64": "h1"})
    assert image.content_key("d1", b"FROM x\n", "p1", {}) == image.content_key("d1", b"FROM x\n", "p1")


def service_dir(tmp_path, dockerfile: str, files=()):
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "Dockerfile").write_text(dockerfile)
    for name in files:
        (tmp_path / "svc" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "svc" / name).write_text(name)
    built = {"svc-linux-amd64": tmp_path / "dist" / "svc-linux-amd64", "hc-linux-amd64": tmp_path / "dist" / "hc"}
    return config.Service("svc", tmp_path / "svc", 1), tmp_path / "svc" / "Dockerfile", built


def test_the_context_takes_the_files_the_dockerfile_names_and_no_others(tmp_path):
    service, dockerfile, built = service_dir(
        tmp_path, "FROM base\nADD svc-linux-amd64 hc-linux-amd64 /\nCOPY config.json /etc/\nCOPY static/ /www/\n"
                  "COPY --from=base /x /x\n",
        ["config.json", "static/a.css", "static/.hidden", "secret.txt", "svc-linux-amd64"])
    found = image.context_files(service, dockerfile, built)
    assert found == {"config.json": tmp_path / "svc" / "config.json",
                     "static/a.css": tmp_path / "svc" / "static" / "a.css"}  # a stale binary there is not taken


def test_a_with_binary_the_dockerfile_does_not_add_is_one_line(tmp_path):
    service, dockerfile, built = service_dir(tmp_path, "FROM base\nADD svc-linux-amd64 /\n")
    with pytest.raises(PipelineError, match=r"services\.svc\.with: .*does not ADD or COPY hc-linux-amd64"):
        image.context_files(service, dockerfile, built)


@pytest.mark.parametrize("line, hint", [
    ("ADD other-linux-amd64 /", "name its directory in services.svc.with"),
    ("COPY config.json /", "config.json from the build context, which is neither a file in"),
    ("COPY ../outside /", "../outside from the build context"),
])
def test_a_file_the_context_cannot_have_is_one_line(tmp_path, line, hint):
    (tmp_path / "outside").write_text("x")
    service, dockerfile, built = service_dir(tmp_path, f"FROM base\nADD svc-linux-amd64 hc-linux-amd64 /\n{line}\n")
    with pytest.raises(PipelineError, match=re.escape(hint)):
        image.context_files(service, dockerfile, built)


def test_named_files_keep_their_mode_and_binaries_are_executable(tmp_path):
    binary, data = tmp_path / "svc-linux-amd64", tmp_path / "config.json"
    binary.write_bytes(b"\x7fELF")
    data.write_text("{}")
    data.chmod(0o640)
    with tarfile.open(fileobj=image.context_tar(b"FROM x\n", {binary.name: binary}, {"etc/config.json": data})) as tar:
        modes = {m.name: m.mode for m in tar.getmembers()}
    assert modes == {"Dockerfile": 0o644, "svc-linux-amd64": 0o755, "etc/config.json": 0o640}


def test_a_scratch_dockerfile_for_another_platform_copies_first():
    shared = (Path(__file__).parents[2] / "goswarm" / "Dockerfile").read_bytes()
    plan = image.scratch_plan(shared, "svc-linux-arm64")
    assert image.scratch_dockerfile(plan, "svc-linux-arm64", "goswarm-probe-linux-arm64") == (
        b"FROM scratch\nCOPY svc-linux-arm64 /service\nCOPY goswarm-probe-linux-arm64 /.goswarm/probe\n"
        b'USER 65534:65534\nENTRYPOINT ["/service"]\n')


def test_the_tag_of_a_manifest_list_follows_its_platforms_images():
    a = [image.Image("s", "r", "t1", platform="linux/amd64"), image.Image("s", "r", "t2", platform="linux/arm64")]
    assert image.index_tag(a) == image.index_tag(list(reversed(a))) and len(image.index_tag(a)) == 12
    assert image.index_tag(a) != image.index_tag([a[0], image.Image("s", "r", "t3", platform="linux/arm64")])
    both = image.multi_platform(a, image.platforms.Platform("linux", "arm64"))
    assert both.tag == image.index_tag(a) and both.variants == tuple(a) and both.platform == ""
