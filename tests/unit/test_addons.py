"""ops/addons' pure part: the add-ons from the config's defaults, the opt-in's refusal and warning."""
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from goswarm import settings
from goswarm.errors import ConfigError, PipelineError
from goswarm.ops import addons


@dataclass
class Cfg:
    addons: dict = field(default_factory=lambda: settings.DEFAULTS["addons"])
    root: Path = Path("/project")


def test_the_blogs_addons_from_the_defaults():
    visualizer = addons.service_of(Cfg(), "visualizer")
    assert (visualizer.image, visualizer.port, visualizer.publish) == ("dockersamples/visualizer", 8080, 8080)
    assert visualizer.constraints == ("node.role==manager",) and visualizer.mounts_docker_socket
    dvizz = addons.service_of(Cfg(), "dvizz")
    assert (dvizz.image, dvizz.port, dvizz.publish) == ("eriklupander/dvizz", 6969, 6969)
    assert dvizz.mounts_docker_socket and not dvizz.built


def test_unknown_addons_and_addons_without_an_image_are_refused():
    with pytest.raises(PipelineError, match="unknown add-on 'grafana'; known: dvizz, visualizer"):
        addons.service_of(Cfg(), "grafana")
    with pytest.raises(PipelineError, match="addons.mine needs an image"):
        addons.service_of(Cfg({"mine": {"path": "x", "port": 1}}), "mine")
    with pytest.raises(ConfigError, match=r"^addons\.mine\.port must be a port number"):
        addons.service_of(Cfg({"mine": {"image": "x", "port": "p"}}), "mine")


def test_the_refusal_points_at_viz_and_the_warning_says_where_it_is_root():
    visualizer = addons.service_of(Cfg(), "visualizer")
    refusal = addons.socket_refusal(visualizer)
    assert "\n" not in refusal and "--allow-docker-socket" in refusal and " viz`" in refusal
    assert addons.socket_warning(visualizer) == (
        "warning: visualizer mounts the Docker socket: whoever controls the container, or reaches its port 8080, "
        "is root on the node it runs on (node.role==manager)")
