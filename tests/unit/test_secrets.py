"""plan/secrets.py: what goswarm.yaml says of a service's secrets and configs, the objects' names (after their
content), the spec fields that mount them, and which objects a prune may remove."""
from pathlib import Path

import pytest

from goswarm.errors import ConfigError
from goswarm.plan import config, secrets, servicespec

ROOT = Path("/project")


def parse(value, kind="secrets"):
    return secrets.parse(f"services.api.{kind}", value, kind, ROOT)


def test_from_the_environment_or_a_file_mounted_where_docker_puts_them():
    db, key = parse({"db_password": {"env": "DB_PASSWORD"}, "tls_key": {"file": "secrets/tls.key"}})
    assert (db.source, db.ref, db.where) == ("env", "DB_PASSWORD", "/run/secrets/db_password")
    assert (key.source, key.ref, key.where) == ("file", "/project/secrets/tls.key", "/run/secrets/tls_key")
    app, plain = parse({"app": {"file": "app.yaml", "target": "/etc/app.yaml"}, "motd": {"file": "motd"}}, "configs")
    assert (app.where, plain.where) == ("/etc/app.yaml", "/motd")


@pytest.mark.parametrize("value, kind, message", [
    (["DB_PASSWORD"], "secrets", r"services.api.secrets must be a mapping like"),
    ({"db": "DB_PASSWORD"}, "secrets", r"services.api.secrets.db must be \{env: ...\} or \{file: ...\}"),
    ({"db": {"env": "A", "file": "b"}}, "secrets", r"secrets.db must be"),
    ({"db": {"env": "not a name"}}, "secrets", r"secrets.db.env must name an environment variable"),
    ({"app": {"env": "A"}}, "configs", r"configs.app must be \{file: ...\} \(and target: /path\)"),
    ({"app": {"file": "a", "target": "etc/a"}}, "configs", r"configs.app.target must be an absolute path"),
    ({"a": {"file": "a", "target": "/x"}, "b": {"file": "b", "target": "/x"}}, "configs", r"two of them .* one path"),
    ({"../x": {"env": "A"}}, "secrets", r"'../x' is not a name"),
])
def test_a_mistake_is_one_line_naming_the_key(value, kind, message):
    with pytest.raises(ConfigError, match=message):
        parse(value, kind)


def test_an_object_is_named_after_its_content_within_the_engines_limit():
    item = parse({"db_password": {"env": "DB"}})[0]
    assert secrets.object_name("api", item, "ab" * 32) == "api_db_password_" + "ab" * 6
    long = secrets.object_name("s" * 80, item, "cd" * 32)
    assert len(long) == 64 and long.endswith("_db_password_" + "cd" * 6)


def test_the_spec_names_the_objects_and_a_new_value_is_an_update():
    service = config.parse_service("api", {"path": ".", "port": 80, "secrets": {"db": {"env": "DB"}},
                                           "configs": {"app": {"file": "app.yaml", "target": "/etc/app.yaml"}}},
                               ROOT)
    db, app = (*service.secrets, *service.configs)
    files = secrets.references([(db, "id1", "api_db_111111111111"), (app, "id2", "api_app_222222222222")])
    spec = servicespec.desired(service, "sha256:a", "p/api:1", "net", files=files)
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert container["Secrets"] == [{"File": {"Name": "db", "UID": "0", "GID": "0", "Mode": 0o444},
                                     "SecretID": "id1", "SecretName": "api_db_111111111111"}]
    assert container["Configs"][0]["File"]["Name"] == "/etc/app.yaml" and container["Configs"][0]["ConfigID"] == "id2"
    changed = servicespec.desired(service, "sha256:a", "p/api:1", "net", files=secrets.references(
        [(db, "id3", "api_db_333333333333"), (app, "id2", "api_app_222222222222")]))
    plan = servicespec.plan(service, changed, {"ID": "x", "Version": {"Index": 1}, "Spec": spec})
    assert [c[0] for c in plan.changes] == ["secrets"]
    assert secrets.referenced(spec) == {"api_db_111111111111", "api_app_222222222222"}


def test_a_prune_keeps_what_the_spec_and_the_previous_spec_mount():
    def mounting(*names):
        return {"TaskTemplate": {"ContainerSpec": {"Secrets": [{"SecretName": n} for n in names]}}}

    current = {"Spec": mounting("api_db_3"), "PreviousSpec": mounting("api_db_2")}
    objects = [("api_db_1", "i1"), ("api_db_2", "i2"), ("api_db_3", "i3")]
    assert secrets.unused(objects, current) == [("api_db_1", "i1")]
    assert secrets.unused(objects, None) == objects  # the service is gone
