from pathlib import Path

import pytest

from goswarm.errors import ConfigError, PipelineError
from goswarm.plan import config
from goswarm.plan.config import Check

ROOT = Path("/project")
GOOD = {"path": "services/a", "port": 6767, "publish": 6767, "smoke": "/health"}


def test_defaults_and_paths():
    svc = config.parse_service("a", {"path": "services/a", "port": 8080}, ROOT)
    assert svc.path == ROOT / "services/a"
    assert (svc.main, svc.publish, svc.publish_mode, svc.replicas, svc.smoke) == (".", None, "host", 1, None)


@pytest.mark.parametrize("change, field", [
    ({"path": None}, "services.a.path"),
    ({"port": "6767"}, "services.a.port"),
    ({"port": 0}, "services.a.port"),
    ({"port": True}, "services.a.port"),
    ({"publish": 70000}, "services.a.publish"),
    ({"publish_mode": "mesh"}, "services.a.publish_mode"),
    ({"replicas": -1}, "services.a.replicas"),
    ({"replicas": "two"}, "services.a.replicas"),
    ({"smoke": "health"}, "services.a.smoke"),
    ({"publish": None}, "services.a.smoke needs a published port"),
    ({"env": ["A=1"]}, "services.a.env"),
    ({"constraints": "node.role==manager"}, "services.a.constraints"),
    ({"prot": 1}, "services.a.prot: did you mean port?"),
    ({"healthcheck": 5}, "services.a.healthcheck"),
    ({"publish_mode": "edge", "publish": None, "smoke": None}, "publish_mode edge needs a published port"),
    ({"healthcheck": ["/service", ""]}, "services.a.healthcheck"),
    ({"healthcheck": {"http": "/healthz", "port": "81"}}, "services.a.healthcheck.port must be a port number"),
    ({"build_args": {"BIN_NAME": ["x"]}}, "services.a.build_args must be a mapping"),
    ({"build": "make"}, "services.a.build must be go"),
])
def test_each_wrong_field_is_named(change, field):
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        config.parse_service("a", {**GOOD, **change}, ROOT)


@pytest.mark.parametrize("value, check", [
    (None, Check("none")), (False, Check("none")), ([], Check("none")),
    ({"http": "/health"}, Check("http", ("/health",))),
    ({"http": "/healthz", "port": 81}, Check("http", ("/healthz",), 81)),
    ({"tcp": True}, Check("tcp")),
    (["/service", "-healthcheck"], Check("command", ("/service", "-healthcheck"))),
    ("/bin/check --port 80", Check("command", ("/bin/check", "--port", "80"))),
])
def test_healthcheck_forms(value, check):
    assert config.parse_service("a", {**GOOD, "healthcheck": value}, ROOT).healthcheck == check


@pytest.mark.parametrize("value", [{"http": "health"}, {"tcp": False}, {"http": "/x", "tcp": True}, {"exec": "x"}])
def test_a_healthcheck_mapping_must_be_one_of_the_two_forms(value):
    with pytest.raises(ConfigError, match=r"services\.a\.healthcheck must be \{http: /health\}, \{tcp: true\}"):
        config.parse_service("a", {**GOOD, "healthcheck": value}, ROOT)


def test_without_a_healthcheck_the_images_own_applies_else_the_port():
    assert config.parse_service("a", GOOD, ROOT).healthcheck == Check("image")


def test_checks_describe_themselves_for_error_messages():
    assert Check("http", ("/health",)).describe(6767) == "GET http://127.0.0.1:6767/health inside the container"
    assert Check("command", ("./hc", "-port=1")).describe(1) == "`./hc -port=1` inside the container"


def test_entry_must_be_a_mapping():
    with pytest.raises(ConfigError, match="services.b must be a mapping"):
        config.parse_services({"b": "services/b"}, ROOT)


@pytest.mark.parametrize("raw", [None, {}])
def test_no_services(raw):
    with pytest.raises(ConfigError, match="no services"):
        config.parse_services(raw, ROOT)


def test_names_ending_in_edge_are_kept_for_the_edges():
    with pytest.raises(ConfigError, match="kept for the edge services"):
        config.parse_service("web-edge", GOOD, ROOT)


def test_the_edge_proxy_is_built_only_when_a_service_needs_it():
    host = config.parse_service("a", GOOD, ROOT)
    edged = config.parse_service("b", {**GOOD, "publish_mode": "edge"}, ROOT)
    assert [s.name for s in config.with_edge([host], ROOT)] == ["a"]
    assert [s.name for s in config.with_edge([host, edged], ROOT)] == ["a", "b", config.EDGE]


def test_a_tcp_service_gets_the_l4_edge_and_an_unknown_protocol_is_one_line():
    tcp = config.parse_service("t", {**GOOD, "publish_mode": "edge", "protocol": "tcp"}, ROOT)
    http = config.parse_service("h", {**GOOD, "publish_mode": "edge", "publish": 7001}, ROOT)
    assert (tcp.protocol, http.protocol) == ("tcp", "http")
    assert [s.name for s in config.with_edge([tcp], ROOT)] == ["t", config.TCP_EDGE]
    assert [s.name for s in config.with_edge([tcp, http], ROOT)] == ["t", "h", config.EDGE, config.TCP_EDGE]
    assert config.edge_of(tcp, ROOT).path == ROOT / config.TCP_EDGE_SOURCE
    with pytest.raises(ConfigError, match="protocol must be one of http, tcp, got 'udp'"):
        config.parse_service("u", {**GOOD, "protocol": "udp"}, ROOT)


def test_bad_name():
    with pytest.raises(ConfigError, match="service names"):
        config.parse_service("Bad Name", GOOD, ROOT)


def test_select():
    services = config.parse_services({"a": GOOD, "b": {**GOOD, "publish": 1}}, ROOT)
    assert [s.name for s in config.select(services, None)] == ["a", "b"]
    assert [s.name for s in config.select(services, "b, a")] == ["b", "a"]
    with pytest.raises(PipelineError, match="unknown service 'c'; known services: a, b"):
        config.select(services, "a,c")


def test_an_empty_service_selection_is_an_error_not_everything():
    services = config.parse_services({"a": GOOD}, ROOT)
    for wanted in ("", " , ", ","):
        with pytest.raises(PipelineError, match="names no service; known services: a"):
            config.select(services, wanted)


@pytest.mark.parametrize("path", ["../..", "/etc", "services/../../elsewhere"])
def test_a_service_path_must_stay_inside_the_project(path):
    with pytest.raises(ConfigError, match=r"services\.a\.path: .* is outside the project root /project"):
        config.parse_service("a", {**GOOD, "path": path}, ROOT)


def test_paths_inside_the_project_may_be_absolute_or_climb_back_in():
    assert config.parse_service("a", {**GOOD, "path": "/project/x"}, ROOT).path == ROOT / "x"
    assert config.parse_service("a", {**GOOD, "path": "x/../y"}, ROOT).path == ROOT / "y"


def test_a_dockerfile_must_stay_inside_the_project_too():
    with pytest.raises(ConfigError, match=r"services\.a\.dockerfile: \.\./Dockerfile is outside"):
        config.parse_service("a", {**GOOD, "dockerfile": "../Dockerfile"}, ROOT)


@pytest.mark.parametrize("b", [
    {**GOOD, "path": "services/b"},
    {**GOOD, "path": "services/b", "publish_mode": "edge"},
    {**GOOD, "path": "services/b", "publish_mode": "ingress"},
])
def test_two_services_on_one_published_port_are_refused_naming_both(b):
    with pytest.raises(ConfigError, match="services.a and services.b both publish port 6767"):
        config.parse_services({"a": {**GOOD, "publish_mode": "edge"}, "b": b}, ROOT)


def test_services_on_different_ports_or_none_are_fine():
    internal = {"path": "services/c", "port": 6767}
    services = config.parse_services({"a": GOOD, "b": {**GOOD, "publish": 6768}, "c": internal, "d": internal}, ROOT)
    assert list(services) == ["a", "b", "c", "d"]


def test_with_names_go_main_directories_inside_the_project():
    svc = config.parse_service("a", {**GOOD, "with": ["healthchecker", "tools/probe2"]}, ROOT)
    assert svc.with_mains == (ROOT / "healthchecker", ROOT / "tools/probe2")
    assert [config.binary_name(p) for p in svc.with_mains] == ["healthchecker", "probe2"]
    assert config.parse_service("a", GOOD, ROOT).with_mains == ()


@pytest.mark.parametrize("value, message", [
    ("healthchecker", "services.a.with must be a list"),
    ([""], "services.a.with must be a list"),
    (["../elsewhere"], "outside the project root"),
    (["x/a"], "binary named 'a'"),                       # the service's own binary name
    (["x/goswarm-probe"], "binary named 'goswarm-probe'"),
    (["x/hc", "y/hc"], "both build hc-<os>-<arch>"),
])
def test_a_wrong_with_is_named(value, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        config.parse_service("a", {**GOOD, "with": value}, ROOT)


def test_with_binaries_share_dist_so_names_must_not_clash_across_services():
    raw = {"a": {**GOOD, "with": ["x/hc"]}, "b": {"path": "b", "port": 1, "with": ["y/hc"]}}
    with pytest.raises(ConfigError, match="both build hc-<os>-<arch>"):
        config.parse_services(raw, ROOT)
    with pytest.raises(ConfigError, match=r"services\.a\.with: b is also a service"):
        config.parse_services({"a": {**GOOD, "with": ["b"]}, "b": {"path": "b", "port": 1}}, ROOT)
    shared = {"a": {**GOOD, "with": ["hc"]}, "b": {"path": "b", "port": 1, "with": ["hc"]}}
    assert config.parse_services(shared, ROOT)["b"].with_mains == (ROOT / "hc",)


IMAGE = {"image": "dockersamples/visualizer", "port": 8080, "publish": 8080}


def test_an_image_service_is_deployed_as_it_is_never_built():
    svc = config.parse_service("viz", {**IMAGE, "mounts": ["/var/run/docker.sock:/var/run/docker.sock"]}, ROOT)
    assert (svc.image, svc.path, svc.built) == ("dockersamples/visualizer", None, False)
    assert svc.mounts == (config.Mount("/var/run/docker.sock", "/var/run/docker.sock"),) and svc.mounts_docker_socket
    built = config.parse_service("a", GOOD, ROOT)
    assert built.built and not built.mounts_docker_socket
    edge_app = config.parse_service("viz", {**IMAGE, "publish_mode": "edge"}, ROOT)
    assert [s.name for s in config.with_edge([edge_app], Path("/src"))] == [config.EDGE]  # the edge, not the image
    assert config.with_edge([svc], Path("/src")) == []


@pytest.mark.parametrize("raw, message", [
    ({**IMAGE, "path": "services/a"}, "services.a: give either path (a Go service goswarm builds) or image"),
    ({"port": 8080}, "services.a.path is missing: the Go module directory of the service (or image:"),
    ({**IMAGE, "image": "has space"}, "services.a.image must be an image reference"),
    ({**IMAGE, "image": 5}, "services.a.image must be an image reference"),
    ({**IMAGE, "with": ["x"]}, "services.a.with is about building, and services.a names an image"),
    ({**IMAGE, "dockerfile": "D"}, "services.a.dockerfile is about building"),
    ({**IMAGE, "healthcheck": {"http": "/"}}, "services.a.healthcheck: {http: ...} runs goswarm's probe"),
    ({**IMAGE, "healthcheck": {"tcp": True}}, "services.a.healthcheck: {tcp: ...} runs goswarm's probe"),
    ({**IMAGE, "mounts": "/a:/b"}, "services.a.mounts must be a list"),
    ({**IMAGE, "mounts": ["/a"]}, "services.a.mounts: '/a' is not SOURCE:TARGET[:ro]"),
    ({**IMAGE, "mounts": ["a:/b"]}, "services.a.mounts: 'a:/b' is not SOURCE:TARGET[:ro]"),
    ({**IMAGE, "mounts": ["/a:/b:rx"]}, "services.a.mounts: '/a:/b:rx' is not"),
    ({**IMAGE, "mounts": ["/a:/b", "/c:/b"]}, "services.a.mounts: two mounts share the target /b"),
])
def test_image_and_mount_mistakes_are_one_line_naming_the_field(raw, message):
    with pytest.raises(ConfigError) as caught:
        config.parse_service("a", raw, ROOT)
    assert str(caught.value).startswith(message), str(caught.value)


def test_mounts_read_only_and_on_built_services_too():
    svc = config.parse_service("a", {**GOOD, "mounts": ["/etc/ssl:/etc/ssl:ro", "/data:/data:rw"]}, ROOT)
    assert [str(m) for m in svc.mounts] == ["/etc/ssl:/etc/ssl:ro", "/data:/data"]
    assert svc.mounts[0].read_only and not svc.mounts[1].read_only
    command = config.parse_service("a", {**IMAGE, "healthcheck": ["/check"]}, ROOT).healthcheck
    assert command == Check("command", ("/check",))


def test_a_load_scenario_is_a_path_with_ids_for_its_id():
    svc = config.parse_service("a", {**GOOD, "load": {"path": "/accounts/{id}", "ids": "10000-10099, 7"}}, ROOT)
    assert svc.load == config.Load("/accounts/{id}", "10000-10099,7")
    assert config.parse_service("a", {**GOOD, "load": {"path": "/"}}, ROOT).load == config.Load("/", "")
    assert config.parse_service("a", GOOD, ROOT).load is None


@pytest.mark.parametrize("value, says", [
    ("/accounts", "must be a mapping"),
    ({"path": "/x", "users": 5}, "must be a mapping"),
    ({"path": "accounts"}, "load.path must be a URL path"),
    ({"path": "/a b"}, "load.path must be a URL path"),
    ({"path": "/accounts/{id}"}, "such a path needs ids"),
    ({"path": "/accounts", "ids": "1-5"}, "ids go with a path that has {id}"),
    ({"path": "/accounts/{id}", "ids": "1-5;rm"}, "load.ids must be ids and ranges"),
    ({"path": "/accounts/{id}", "ids": True}, "load.ids must be ids and ranges"),
])
def test_a_wrong_load_scenario_is_named(value, says):
    with pytest.raises(ConfigError, match=r"services\.a\.load") as raised:
        config.parse_service("a", {**GOOD, "load": value}, ROOT)
    assert says in str(raised.value)


def test_the_sample_config_loads_the_seeded_accounts():
    from invoke.util import yaml  # invoke's own, as it reads invoke.yaml

    sample = yaml.safe_load((Path(__file__).resolve().parents[2] / "invoke.yaml").read_text())
    assert sample["services"]["accountservice"]["load"] == {"path": "/accounts/{id}", "ids": "10000-10099"}
