"""ops/pipeline.py without an engine: where the smoke test knocks, and what it makes of the answers of a
real HTTP server on loopback. (The pipeline itself needs the engine: tests/integration/test_pipeline.py.)"""
import http.server
import threading
from pathlib import Path

import pytest

from goswarm import settings
from goswarm.errors import PipelineError
from goswarm.io import environment
from goswarm.io.shell import Shell
from goswarm.ops import pipeline
from goswarm.plan.config import Service


def service(port, smoke="/health", mode="host"):
    return Service("web", Path("/p"), 6767, publish=port, publish_mode=mode, smoke=smoke)


@pytest.fixture
def server():
    """An HTTP server on loopback that answers every GET with the status the test sets."""
    class Answer(http.server.BaseHTTPRequestHandler):
        status = 200

        def do_GET(self):  # noqa: N802 (the name BaseHTTPRequestHandler calls)
            self.send_response(Answer.status)
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    httpd.answer = Answer
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def closed_port() -> int:
    """A loopback port nothing listens on: bound, never listened, released."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def real() -> Shell:
    return Shell(lambda *a, **k: pytest.fail("the smoke test runs no command"))


def test_smoke_url():
    assert pipeline.smoke_url("10.77.0.2", service(8080, "/accounts/10000")) == "http://10.77.0.2:8080/accounts/10000"


def test_a_smoke_test_passes_on_a_2xx_answer(server, capsys):
    url = f"http://127.0.0.1:{server.server_port}/health"
    assert pipeline.smoke(real(), "127.0.0.1", service(server.server_port)) == url
    assert capsys.readouterr().out == f"smoke {url}: 200\n"


def test_a_smoke_test_fails_with_the_last_answer(server):
    server.answer.status = 500
    with pytest.raises(PipelineError) as e:
        pipeline.smoke(real(), "127.0.0.1", service(server.server_port), timeout=0.5)
    url = f"http://127.0.0.1:{server.server_port}/health"
    assert str(e.value) == f"smoke test failed: GET {url} gave HTTP 500 for 0s"


def test_a_smoke_test_of_a_port_nobody_answers_on_says_why():
    port = closed_port()
    with pytest.raises(PipelineError, match=rf"GET http://127.0.0.1:{port}/health gave .*[Cc]onnection refused"):
        pipeline.smoke(real(), "127.0.0.1", service(port), timeout=0.3)


def test_a_dry_smoke_test_only_says_what_it_would_get(capsys):
    dry = Shell(lambda *a, **k: pytest.fail("a dry run runs nothing"), dry=True)
    assert pipeline.smoke(dry, "127.0.0.1", service(closed_port())).startswith("http://127.0.0.1:")
    assert capsys.readouterr().out.startswith("[dry] would GET http://127.0.0.1:")


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    """A single engine (no manager machine), whose published ports answer on loopback."""
    monkeypatch.setenv("GOSWARM_ROOT", str(tmp_path))
    monkeypatch.setattr(environment, "_loaded", True)
    monkeypatch.setenv("MANAGER_IP", "127.0.0.1")
    return settings.read({"services": {"web": {"path": "web", "port": 6767}}})


@pytest.mark.parametrize("mode", ["host", "edge", "ingress"])
def test_on_a_single_engine_the_smoke_test_knocks_on_the_manager(cfg, mode):
    assert pipeline.smoke_hosts(cfg, service(8080, mode=mode)) == ["127.0.0.1"]



def test_the_smoke_stage_alone_knocks_on_each_service_with_a_smoke_path(cfg, server, capsys):
    url = f"http://127.0.0.1:{server.server_port}/health"
    silent = Service("worker", Path("/w"), 8080)
    assert pipeline.smoke_all(real(), cfg, [service(server.server_port, mode="edge"), silent]) == [url]
    assert capsys.readouterr().out == f"smoke {url}: 200\n"
    assert pipeline.smoke_all(real(), cfg, [silent]) == []
    assert capsys.readouterr().out == "no smoke path configured for worker: nothing to test\n"
