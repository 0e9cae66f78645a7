"""The local web server of `goswarm viz`: one self-contained page, its model as JSON, an SVG of it, and the
model's changes as server-sent events. The standard library's ThreadingHTTPServer: one thread per browser.

What it serves comes from a Feed: the latest view model, a version that grows when it changes, and a way
to wait for the next change. The server knows nothing of the engine.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Callable, Optional

KEEPALIVE = 15.0  # seconds between comments on an idle event stream, so that a dead browser is noticed


class Feed:
    """The latest view and its version; a writer publishes, readers wait for a newer version."""

    def __init__(self, view: dict):
        self.view, self.version, self.at = view, 1, time.time()
        self._changed = threading.Condition()

    def publish(self, view: dict) -> bool:
        """Store `view` when it differs from the latest; True when it did (and readers were woken)."""
        with self._changed:
            if view == self.view:
                return False
            self.view, self.version, self.at = view, self.version + 1, time.time()
            self._changed.notify_all()
            return True

    def latest(self) -> tuple:
        with self._changed:
            return self.version, self.view, self.at

    def after(self, version: int, timeout: float) -> tuple:
        """(version, view, when it was published) once newer than `version`, or the same after `timeout`."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != version, timeout)
            return self.version, self.view, self.at


def page(view: dict, live: bool = True) -> bytes:
    """The page with its first view inside, so that its first paint already shows the swarm (or why not)."""
    template = resources.files("goswarm.io").joinpath("viz.html").read_text()
    data = json.dumps({"view": view, "live": live}).replace("</", "<\\/")
    return template.replace("/*INITIAL*/null", data).encode()


def event(version: int, view: dict, at: float) -> bytes:
    return f"id: {version}\ndata: {json.dumps({'view': view, 'at': at})}\n\n".encode()


def handler(feed: Feed, svg: Callable[[dict], str], stopping: threading.Event):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # no line per request: the task's own output says what matters
            pass

        def send(self, status: int, kind: str, body: bytes):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (the name http.server calls)
            path, _, query = self.path.partition("?")
            _, view, _ = feed.latest()
            if path == "/":
                self.send(200, "text/html; charset=utf-8", page(view, live="static" not in query))
            elif path == "/model.json":
                self.send(200, "application/json", json.dumps(view).encode())
            elif path == "/snapshot.svg":
                self.send(200, "image/svg+xml", svg(view).encode())
            elif path == "/events":
                self.stream()
            else:
                self.send(404, "text/plain", b"not found\n")

        def stream(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            version, view, at = feed.latest()
            try:
                self.wfile.write(event(version, view, at))
                self.wfile.flush()
                while not stopping.is_set():
                    newer, view, at = feed.after(version, KEEPALIVE)
                    self.wfile.write(event(newer, view, at) if newer != version else b": still here\n\n")
                    self.wfile.flush()
                    version = newer
            except (BrokenPipeError, ConnectionResetError):
                return  # the browser went away

    return Handler


class Server:
    """The page's server on (host, port), in threads of its own until close()."""

    def __init__(self, feed: Feed, svg: Callable[[dict], str], host: str = "127.0.0.1", port: int = 0):
        self.stopping = threading.Event()
        self.httpd = ThreadingHTTPServer((host, port), handler(feed, svg, self.stopping))
        self.httpd.daemon_threads = True
        self.thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}/"

    def start(self) -> "Server":
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        self.thread.start()
        return self

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
