"""Real Go repos nobody here wrote (issue 16's corpus, ../shared/corpus): each is extracted into a temp dir, given
only what a firewalled user would prepare (stand-in base images under the names its Dockerfile uses), then
`goswarm init` with no stdin, `goswarm redeploy` with no edit to what init wrote, a route checked as the repo's
README says, and a one-line handler edit served by the same service.

Each test names its services and published ports through init's own flags (--name, --publish): other engineers
share this engine. The deploy lock is the test's own (GOSWARM_DEPLOY_LOCK), as the services are.
"""
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from helpers import ROOT, SUFFIX, free_port, http_get, wait_for

CORPUS = Path(os.environ.get("GOSWARM_CORPUS") or ROOT.parent / "shared" / "corpus")
DISTROLESS = "gcr.io/distroless/static-debian12:nonroot"
ALPINE = "alpine:3.1"
GOLANG = "golang:1-alpine"


class Repo:
    """One corpus repo, extracted into a temp dir, driven through the goswarm command as its user would."""

    def __init__(self, root: Path, engine):
        self.root, self.engine, self.services = root, engine, []
        self.env = {**os.environ, "GOSWARM_DEPLOY_LOCK": f"it-corpus-{SUFFIX}-{root.name}"}

    @classmethod
    def extracted(cls, tmp: Path, engine, archive: str) -> "Repo":
        path = CORPUS / f"{archive}.tar.gz"
        assert path.is_file(), f"the corpus archive {path} is missing (set GOSWARM_CORPUS to its directory)"
        with tarfile.open(path) as tar:
            tar.extractall(tmp, filter="data")
        return cls(tmp / archive, engine)

    def goswarm(self, *args, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "goswarm", "-r", str(self.root), *args], cwd=self.root,
                                env=self.env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
        result.output = result.stdout + result.stderr
        if check and result.returncode != 0:
            pytest.fail(f"goswarm {' '.join(args)} exited {result.returncode}:\n{result.output}")
        return result

    def service_id(self, name: str) -> str:
        return self.engine.api.inspect_service(name)["ID"]

    def edit(self, relative: str, old: str, new: str) -> None:
        path = self.root / relative
        text = path.read_text()
        assert text.count(old) == 1, f"{old!r} is not once in {path}"
        path.write_text(text.replace(old, new))

    def cleanup(self):
        for name in self.services:
            for service in self.engine.services.list(filters={"name": name}):
                if service.name == name:
                    service.remove()
        for name in self.services:
            label = {"label": f"com.docker.swarm.service.name={name}"}
            wait_for(lambda label=label: not self.engine.containers.list(all=True, filters=label), 60,
                     f"{name}'s containers to go")
        # The images init's config names after this repo (image.prefix): its services' and its edge's.
        for name in [n for n in self.services if not n.endswith("-edge")] + ["goswarm-edge"]:
            for built in self.engine.images.list(name=f"{self.root.name}/{name}"):
                for tag in built.tags:
                    self.engine.images.remove(tag)


@pytest.fixture
def repo(tmp_path, engine):
    made = []

    def extract(archive):
        made.append(Repo.extracted(tmp_path, engine, archive))
        return made[-1]

    yield extract
    for r in made:
        r.cleanup()


@pytest.fixture
def stand_ins(engine):
    """Base images the test provides under the names the Dockerfiles use; their names are removed afterwards
    (the test's service images are built on them, so only the names)."""
    made = []

    def provide(ref: str, files: dict = None, changes: list = None):
        assert not engine.images.list(name=ref), f"{ref} is on this engine already: the test must provide it"
        layer = io.BytesIO()
        with tarfile.open(fileobj=layer, mode="w") as tar:
            for target, source in (files or {}).items():
                tar.add(source, arcname=target)
        engine.api.import_image_from_data(layer.getvalue(), repository=ref.rsplit(":", 1)[0],
                                          tag=ref.rsplit(":", 1)[1], changes=changes or [])
        made.append(ref)

    for ref in (DISTROLESS, ALPINE, GOLANG):
        if engine.images.list(name=ref):  # left by a run that was killed: this test's own name
            engine.api.remove_image(ref)
    yield provide
    for ref in made:
        if engine.images.list(name=ref):
            engine.api.remove_image(ref)


def published(repo: Repo, found: str) -> tuple:
    """init's flags for a service it finds as `found`: a name and a published port of this test's own."""
    name, port = f"it{SUFFIX}-{found}", free_port()
    repo.services += [name, f"{name}-edge"]
    return name, port, ["--name", f"{found}={name}", "--publish", f"{name}={port}"]


def answer(port: int, path: str, text: str, timeout: float = 30) -> str:
    return wait_for(lambda: (lambda got: got if text in got else None)(http_get(f"http://127.0.0.1:{port}{path}")),
                    timeout, f"{path} to answer {text!r}")


def test_http_echo(repo, stand_ins):
    """A root Dockerfile FROM distroless that copies dist/$TARGETOS/$TARGETARCH/$BIN_NAME; the port in -listen."""
    echo = repo("http-echo")
    name, port, flags = published(echo, "http-echo")
    stand_ins(DISTROLESS)  # empty: the service needs no file of it at run time
    init = echo.goswarm("init", *flags)
    assert "port 5678 (flag.String(\"listen\", \":5678\"" in init.output
    assert "build_args: {BIN_NAME: http-echo}" in (echo.root / "goswarm.yaml").read_text()
    assert f"{name}: GET /health on port 5678 answered 2xx in a trial run: health written as it is" in init.output
    assert "compiled on this host, put at /http-echo" in init.output  # init's trial built the image
    first = echo.goswarm("redeploy")
    assert f"create service {name}" in first.output
    assert answer(port, "/", "hello-world") == "hello-world\n"  # the Dockerfile's ENV ECHO_TEXT
    before = echo.service_id(name)
    echo.edit("main.go", '`{"status":"ok"}`', '`{"status":"edited"}`')
    echo.goswarm("redeploy")
    assert answer(port, "/health", "edited") == '{"status":"edited"}\n'
    assert echo.service_id(name) == before


def test_whoami(repo, stand_ins):
    """A multi-stage Dockerfile whose final stage takes zoneinfo and CA certificates from its golang:1-alpine build
    stage: goswarm says in one line that it needs that image, and changes nothing; with a stand-in made from this
    machine's Go toolchain (and its zoneinfo and CA files) the deploy works."""
    whoami = repo("whoami")
    name, port, flags = published(whoami, "whoami")
    whoami.goswarm("init", *flags)  # its trial cannot build the image: the guesses are written commented out
    assert "    # healthcheck: {http: /health}  # not tried: " in (whoami.root / "goswarm.yaml").read_text()
    refused = whoami.goswarm("redeploy", check=False)
    errors = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode != 0 and len(errors) == 1 and "Traceback" not in refused.output, refused.output
    assert f"needs {GOLANG}, which this engine does not have" in errors[0]
    assert "/usr/share/zoneinfo, /etc/ssl/certs/ca-certificates.crt" in errors[0]
    assert not whoami.engine.services.list(filters={"name": name})
    stand_ins(GOLANG, {"usr/local/go/bin": "/usr/local/go/bin", "usr/share/zoneinfo": "/usr/share/zoneinfo",
                       "etc/ssl/certs/ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt"},
              ["ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    whoami.goswarm("redeploy")
    assert answer(port, "/", "Hostname:").startswith("Hostname: ")
    before = whoami.service_id(name)
    whoami.edit("app.go", '"Hostname:"', '"Host name:"')
    whoami.goswarm("redeploy")
    assert answer(port, "/", "Host name:").startswith("Host name: ")
    assert whoami.service_id(name) == before


def test_kelseyhightower_app(repo, stand_ins):
    """No go.mod, a vendor/ of 2016 whose packages the module proxy no longer serves at those commits (go mod tidy
    picks a jwt-go whose API changed): built in GOPATH mode as written. Three services on -http 0.0.0.0:80, health
    on a second listener (-health :81), each Dockerfile FROM alpine:3.1 + ADD <binary>."""
    app = repo("kelseyhightower-app")
    names, flags = {}, []
    for found in ("auth", "hello", "monolith"):
        names[found], port, more = published(app, found)
        flags += more
        names[found + "-port"] = port
    stand_ins(ALPINE)  # empty: the services are static binaries
    init = app.goswarm("init", *flags)
    assert ("auth/, certgen/, hello/, monolith/: in no Go module, with a vendor/: built in GOPATH mode as "
            "github.com/kelseyhightower/app") in init.output
    config = (app.root / "goswarm.yaml").read_text()
    assert config.count("gopath: github.com/kelseyhightower/app") == 3
    assert config.count("healthcheck: {http: /healthz, port: 81}") == 3
    for found in ("auth", "hello", "monolith"):
        assert f"{names[found]}: GET /healthz on port 81 answered 2xx in a trial run" in init.output
    app.goswarm("redeploy")
    assert answer(names["hello-port"], "/", "Hello").strip() == '{"message":"Hello"}'
    assert answer(names["monolith-port"], "/version", "version").strip() == '{"version":"1.0.0"}'
    before = app.service_id(names["hello"])
    app.edit("handlers/hello.go", 'Message: "Hello",', 'Message: "Hello, edited",')
    app.goswarm("redeploy")
    assert answer(names["hello-port"], "/", "edited").strip() == '{"message":"Hello, edited"}'
    assert app.service_id(names["hello"]) == before
    # a vendored package is part of the binary: an edit in it compiles again
    app.edit("vendor/github.com/braintree/manners/server.go", "package manners", "package manners // edited")
    rebuilt = app.goswarm("build")
    assert f"built dist/{names['hello']}-linux-amd64" in rebuilt.output, rebuilt.output
