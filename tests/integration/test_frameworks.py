"""init on services written with chi, gin and echo (their real modules, from the Go module proxy): the port comes
from each framework's own way to listen (http.ListenAndServe, gin's r.Run() with no address, echo's e.Start), the
health route from routes registered in a chi r.Route block or a gin/echo group (so with its prefix), each proved in
a trial container; then redeploy serves them, and a one-line handler edit is served by the same service."""
import shutil

from test_corpus import Repo, answer, published

from helpers import ROOT

FIXTURE = ROOT / "tests" / "fixtures" / "frameworks"


def test_chi_gin_and_echo(tmp_path, engine):
    shutil.copytree(FIXTURE, tmp_path / "frameworks")
    project = Repo(tmp_path / "frameworks", engine)
    try:
        names, ports, flags = {}, {}, []
        for found in ("chi", "gin", "echo"):
            names[found], ports[found], more = published(project, found)
            flags += more
        init = project.goswarm("init", *flags)
        for found, port, route in (("chi", 3000, "/api/health"), ("gin", 8080, "/v1/ping"),
                                   ("echo", 1323, "/admin/healthz")):
            assert f"{names[found]}: GET {route} on port {port} answered 2xx in a trial run: health written as it is" \
                in init.output, init.output
        assert 'port 8080 (Run() of gin: $PORT, else 8080 in cmd/gin/main.go:10)' in init.output
        assert 'port 1323 (Start(":1323" in cmd/echo/main.go:15)' in init.output
        project.goswarm("redeploy")
        assert answer(ports["chi"], "/api/items/7", "item") == "item 7"
        assert answer(ports["gin"], "/v1/ping", "pong") == "pong"
        assert answer(ports["echo"], "/hello", "hello") == "hello"
        before = project.service_id(names["echo"])
        project.edit("cmd/echo/main.go", '"hello")', '"hello, edited")')
        project.goswarm("redeploy")
        assert answer(ports["echo"], "/hello", "edited") == "hello, edited"
        assert project.service_id(names["echo"]) == before
    finally:
        project.cleanup()
