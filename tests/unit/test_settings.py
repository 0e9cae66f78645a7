"""settings.py: the config read once into Settings, from plain dicts as Invoke merges them."""
import invoke
import pytest

from goswarm import settings
from goswarm.errors import ConfigError
from goswarm.io import environment
from goswarm.plan.platforms import Platform

SERVICES = {"a": {"path": "a", "port": 80}}


@pytest.fixture(autouse=True)
def root(tmp_path, monkeypatch):
    """A project of its own: paths in the settings are below it."""
    monkeypatch.setenv("GOSWARM_ROOT", str(tmp_path))
    return tmp_path


def load(**sections):
    return settings.read({"services": SERVICES, **sections})


def settings_with(**image):
    return load(image=image)


def test_defaults(root):
    cfg = load()
    assert (cfg.prefix, cfg.registry, cfg.node_registry) == ("someprefix", "", "")
    assert cfg.platforms == [Platform("linux", "amd64")]
    assert (cfg.network, cfg.timeout, cfg.lock_ttl) == ("my_network", 60.0, 900.0)
    assert (cfg.project, cfg.lock_name, cfg.adopt) == (root.name, f"{settings.LOCK}-{root.name}", False)
    assert (cfg.dist, cfg.state_dir, cfg.root) == (root / "dist", root / ".swarm", root)
    assert (cfg.manager_name, cfg.advertise_addr, cfg.ldflags) == (None, None, "-s -w")
    assert (cfg.lab_prefix, cfg.lab_nodes) == ("lab", 3)
    assert list(cfg.services) == ["a"] and cfg.services["a"].path == root / "a"


def test_without_image_dockerfile_a_project_uses_the_one_goswarm_ships(root):
    assert load().dockerfile == environment.DOCKERFILE
    (root / "Dockerfile").write_text("FROM scratch\n")  # the root service's own, not every service's (issue 16)
    assert load().dockerfile == environment.DOCKERFILE
    assert load(image={"dockerfile": "docker/Dockerfile"}).dockerfile == root / "docker" / "Dockerfile"


def test_given_values_win_over_the_defaults(root):
    cfg = load(image={"prefix": "p", "registry": "127.0.0.1:5000"}, build={"platforms": "linux/arm64,linux/amd64",
               "dist": "out", "ldflags": ""}, deploy={"timeout": "90", "lock": "team-a"}, lab={"nodes": "0"})
    assert (cfg.prefix, cfg.registry, cfg.dist, cfg.ldflags) == ("p", "127.0.0.1:5000", root / "out", "")
    assert cfg.platforms == [Platform("linux", "arm64"), Platform("linux", "amd64")]
    assert (cfg.timeout, cfg.lock_name, cfg.lab_nodes) == (90.0, "team-a", 0)


def test_a_manager_flag_wins_over_swarm_manager():
    assert load(swarm={"manager": "lab-1"}).manager_name == "lab-1"
    assert settings.read({"services": SERVICES, "swarm": {"manager": "lab-1"}}, "lab-2").manager_name == "lab-2"
    assert load(swarm={"manager": ""}).manager_name is None


@pytest.mark.parametrize("sections, message", [
    ({"swarm": {"network": ""}}, "swarm.network must be a network name, got ''"),
    ({"swarm": {"network": 5}}, "swarm.network must be a network name, got 5"),
    ({"deploy": {"timeout": "soon"}}, "deploy.timeout must be a number of seconds, got 'soon'"),
    ({"deploy": {"timeout": 0}}, "deploy.timeout must be more than 0 seconds, got 0"),
    ({"deploy": {"lock_ttl": -1}}, "deploy.lock_ttl must be more than 0 seconds, got -1"),
    ({"deploy": {"lock": "my lock"}}, "deploy.lock must be a name of letters"),
    ({"lab": {"nodes": "three"}}, "lab.nodes must be a whole number, got 'three'"),
    ({"lab": {"nodes": -1}}, "lab.nodes must be 0 or more, got -1"),
    ({"image": "someprefix"}, "`image` must be a mapping of settings, got str"),
    ({"deploy": ["timeout"]}, "`deploy` must be a mapping of settings, got list"),
    ({"services": None}, "no goswarm.yaml in "),
    ({"servces": {}}, "servces: did you mean services?"),
    ({"deploy": {"timout": 120}}, "deploy.timout: did you mean timeout?"),
    ({"image": {"registy": "r:5000"}}, "image.registy: did you mean registry?"),
    ({"swarm": {"zzz": 1}}, "swarm.zzz: no such key (known: advertise_addr, manager, network, state_dir)"),
    ({"project": "my project"}, "project must be a name of letters"),
    ({"project": 7}, "project must be a name of letters"),
])
def test_each_mistake_is_one_config_error_naming_the_key(sections, message):
    with pytest.raises(ConfigError) as e:
        settings.read({"services": SERVICES, **sections})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_section_is_the_given_settings_over_the_defaults():
    assert settings.section({}, "lab") == {"nodes": 3, "prefix": "lab"}
    assert settings.section({"lab": None}, "lab") == {"nodes": 3, "prefix": "lab"}
    assert settings.section({"lab": {"nodes": 5}}, "lab") == {"nodes": 5, "prefix": "lab"}
    assert settings.section({"lab": {"nodes": 5}}, "lab") is not settings.DEFAULTS["lab"]
    assert settings.DEFAULTS["lab"] == {"nodes": 3, "prefix": "lab"}  # the defaults stay as they were


@pytest.mark.parametrize("name", ["goswarm-deploy-lock", "a", "team.a_1", "A" + "b" * 63])
def test_lock_names_the_engine_accepts(name):
    assert settings.lock_name(name) == name


@pytest.mark.parametrize("name", ["", "-lock", ".lock", "my lock", "lock/1", "a" * 65, None, 5])
def test_lock_names_the_engine_refuses(name):
    with pytest.raises(ConfigError, match="deploy.lock must be a name"):
        settings.lock_name(name)


def test_numbers_from_the_command_line_or_config():
    assert settings.whole_number("--nodes", "3") == 3 and settings.whole_number("--nodes", 0) == 0
    with pytest.raises(ConfigError, match="--nodes must be a whole number, got '2.5'"):
        settings.whole_number("--nodes", "2.5")
    assert settings.seconds("--timeout", "1.5") == 1.5
    with pytest.raises(ConfigError, match="--timeout must be a number of seconds, got None"):
        settings.seconds("--timeout", None)


def test_plain_turns_invokes_config_into_dicts_and_lists():
    config = invoke.Config(overrides={"image": {"prefix": "p"}, "build": {"platforms": ("linux/amd64",)}})
    plain = settings.plain(config)
    assert type(plain) is dict and type(plain["image"]) is dict
    assert plain["image"] == {"prefix": "p"} and plain["build"] == {"platforms": ["linux/amd64"]}


def test_repository_naming():
    assert settings_with().repository("accountservice") == "someprefix/accountservice"
    assert settings_with(registry="127.0.0.1:5000/").repository("a") == "127.0.0.1:5000/someprefix/a"
    assert settings_with(prefix="").repository("a") == "a"
    assert settings_with(prefix="/team/").repository("a") == "team/a"


def test_pull_ref_names_the_registry_as_nodes_see_it():
    ref = "127.0.0.1:5000/p/a:1@sha256:9"
    assert settings_with(registry="127.0.0.1:5000").pull_ref(ref) == ref
    assert settings_with(registry="127.0.0.1:5000", node_registry="10.77.0.1:5000").pull_ref(ref) == \
        "10.77.0.1:5000/p/a:1@sha256:9"
    assert settings_with(registry="127.0.0.1:5000/", node_registry="10.77.0.1:5000/").pull_ref(ref) == \
        "10.77.0.1:5000/p/a:1@sha256:9"
    # A reference from elsewhere (another registry, a local image id) is left as it is.
    other = settings_with(registry="127.0.0.1:5000", node_registry="10.77.0.1:5000")
    assert other.pull_ref("127.0.0.1:50000/p/a:1") == "127.0.0.1:50000/p/a:1"
    assert other.pull_ref("sha256:9") == "sha256:9"


def test_no_manager_means_no_machine_record_is_read():
    assert load().manager is None



def test_the_project_is_named_by_project_else_by_its_directory(root):
    assert load(project="shop").project == "shop"
    assert load(project="shop").lock_name == "goswarm-deploy-lock-shop"
    assert load(project="shop", deploy={"lock": "team-a"}).lock_name == "team-a"
    assert settings.project_name(None, root.parent / "My Shop (v2)") == "My-Shop-v2"
    assert settings.project_name(None, root.parent / "---") == "project"
    assert len(settings.project_name(None, root.parent / ("x" * 80))) == 40


def test_from_a_subdirectory_the_error_names_the_project_and_how_to_reach_it(root, monkeypatch):
    (root / "goswarm.yaml").write_text("services: {}\n")
    sub = root / "cmd" / "api"
    sub.mkdir(parents=True)
    monkeypatch.setenv("GOSWARM_ROOT", str(sub))
    with pytest.raises(ConfigError) as e:
        settings.read({})
    assert str(e.value) == f"no goswarm.yaml in {sub}: the project is {root}: run `goswarm -r {root} ...` " \
                           f"(or run it there)"
    monkeypatch.setenv("GOSWARM_ROOT", str(root))
    with pytest.raises(ConfigError, match="^no services are configured in .*: add them under `services:` in goswarm"):
        settings.read({})


def test_invokes_own_sections_are_the_ones_it_has():
    assert set(settings.INVOKE_SECTIONS) == set(invoke.Config.global_defaults())
