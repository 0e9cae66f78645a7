"""io/viewserver: the Feed pushes only on change, and the server answers on loopback (a real socket)."""
import json
import threading
import urllib.error
import urllib.request

import pytest

from goswarm.io import viewserver

VIEW = {"error": None, "nodes": [], "pending": [], "services": [], "networks": []}


def test_the_feed_moves_only_when_the_view_changes():
    feed = viewserver.Feed(VIEW)
    assert feed.latest()[0] == 1
    assert not feed.publish(dict(VIEW))  # equal: nothing to push
    assert feed.after(1, 0.05)[0] == 1  # times out, same version
    assert feed.publish({**VIEW, "error": "down"})
    assert feed.latest()[:2] == (2, {**VIEW, "error": "down"})


def test_a_reader_wakes_on_the_next_change():
    feed = viewserver.Feed(VIEW)
    got = []
    reader = threading.Thread(target=lambda: got.append(feed.after(1, 5)))
    reader.start()
    feed.publish({**VIEW, "nodes": [{"id": "x"}]})
    reader.join(5)
    assert got and got[0][0] == 2 and got[0][1]["nodes"] == [{"id": "x"}]


def test_the_page_carries_its_first_view_and_cannot_be_broken_out_of_its_script():
    html = viewserver.page({**VIEW, "error": "</script><b>x"}).decode()
    assert "/*INITIAL*/null" not in html and '"live": true' in html
    assert "</script><b>x" not in html and "<\\/script><b>x" in html
    assert "https://" not in html and "http://" not in html  # self-contained: nothing fetched from elsewhere
    assert '"live": false' in viewserver.page(VIEW, live=False).decode()


@pytest.fixture
def server():
    feed = viewserver.Feed(VIEW)
    server = viewserver.Server(feed, lambda view: f"<svg>{len(view['nodes'])}</svg>").start()
    yield server, feed
    server.close()


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read().decode()


def test_the_server_serves_the_page_the_model_and_the_svg(server):
    srv, feed = server
    assert srv.url.startswith("http://127.0.0.1:")
    status, kind, body = get(srv.url)
    assert status == 200 and kind.startswith("text/html") and "goswarm viz" in body
    feed.publish({**VIEW, "nodes": [{"id": "a"}]})
    assert json.loads(get(srv.url + "model.json")[2])["nodes"] == [{"id": "a"}]
    assert get(srv.url + "snapshot.svg")[1:] == ("image/svg+xml", "<svg>1</svg>")
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(srv.url + "nope")
    assert missing.value.code == 404


def test_events_start_with_the_latest_view_and_follow_each_change(server):
    srv, feed = server
    with urllib.request.urlopen(srv.url + "events", timeout=5) as stream:
        assert stream.headers["Content-Type"] == "text/event-stream"
        first = [stream.readline().decode() for _ in range(3)]
        assert first[0] == "id: 1\n" and json.loads(first[1][len("data: "):])["view"] == VIEW
        feed.publish({**VIEW, "error": "engine gone"})
        second = [stream.readline().decode() for _ in range(3)]
        assert second[0] == "id: 2\n" and json.loads(second[1][len("data: "):])["view"]["error"] == "engine gone"
