from pathlib import Path

from goswarm.io import environment
from goswarm.ops import image, stack
from goswarm.plan import edgeproxy
from goswarm.plan.config import EDGE, Check, Service

APP = Service("app", Path("/a"), 6767, publish=7000, publish_mode="edge", healthcheck=Check("tcp"))
WORKER = Service("worker", Path("/w"), 8080)
IMAGES = {name: image.Image(name, f"r/p/{name}", "k1", f"sha256:{name}", f"r/p/{name}:k1@sha256:{name}")
          for name in ("app", "worker", EDGE)}


def test_an_app_in_edge_mode_comes_with_its_edge_on_the_named_network():
    specs = stack.specs([APP, WORKER], IMAGES, "my_network", start_interval=False)
    assert [s["Name"] for s in specs] == ["app", "app-edge", "worker"]
    assert specs[1]["TaskTemplate"]["ContainerSpec"]["Image"] == f"r/p/{EDGE}:k1@sha256:{EDGE}"
    assert all(s["TaskTemplate"]["Networks"][0]["Target"] == "my_network" for s in specs)
    assert all(s["TaskTemplate"]["ForceUpdate"] == 0 for s in specs)
    assert specs[1]["TaskTemplate"]["ContainerSpec"]["Env"] == [
        *sorted(f"{k}={v}" for k, v in edgeproxy.env(7000, "app", 6767).items()), "PORT=7000"]
    assert environment.GO_SOURCES.is_dir()
