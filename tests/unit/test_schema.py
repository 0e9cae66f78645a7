"""plan/schema.py: goswarm.yaml's JSON Schema has the parser's keys, and agrees with the parser on a table of
good and bad configs (each read as Invoke reads it, PyYAML's YAML 1.1). jsonschema comes with check-jsonschema
in the test extra."""
from pathlib import Path

import jsonschema
import pytest
from invoke.util import yaml

from goswarm import settings
from goswarm.errors import ConfigError
from goswarm.plan import config, schema

SCHEMA = schema.schema(settings.DEFAULTS, settings.top_level_keys())
SERVICE = "services:\n  a:\n    path: svc\n    port: 8080\n"


def test_it_is_a_valid_schema_with_the_parsers_own_keys():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    properties = SCHEMA["properties"]
    assert set(properties) == settings.top_level_keys()
    for name, keys in settings.DEFAULTS.items():
        if isinstance(keys, dict) and name != "addons":
            assert set(properties[name]["properties"]) == set(keys), name
    assert set(properties["services"]["additionalProperties"]["properties"]) == config._FIELDS
    assert set(schema.SERVICE_FIELDS) <= config._FIELDS  # no type for a field the parser does not know


def valid_by_schema(data) -> bool:
    return not list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))


def valid_by_parser(data, root: Path) -> bool:
    try:
        settings.read(data)
    except ConfigError:
        return False
    return True


GOOD = [
    SERVICE,
    "project: shop\n" + SERVICE,
    "deploy: {timeout: 120, lock: team-a}\n" + SERVICE,
    "image: {prefix: p, registry: '127.0.0.1:5000'}\nbuild: {platforms: 'linux/amd64,linux/arm64'}\n" + SERVICE,
    SERVICE + "    env: {DEBUG: 'yes', PERM: '0755'}\n    publish: 80\n    smoke: /health\n",
    SERVICE + "    healthcheck: {http: /health}\n    replicas: 2\n    publish_mode: edge\n    publish: 80\n",
    SERVICE + "    healthcheck: [/svc, -check]\n    mounts: ['/var/run/docker.sock:/var/run/docker.sock:ro']\n",
    SERVICE + "    healthcheck: null\n    load: {path: '/a/{id}', ids: '1-9'}\n",
    "services:\n  viz:\n    image: dockersamples/visualizer\n    port: 8080\n",
    "run: {echo: true}\n" + SERVICE,
]
BAD = [
    "servces:\n  a: {path: svc, port: 80}\n",
    "deploy: {timout: 120}\n" + SERVICE,
    "project: 'my shop'\n" + SERVICE,
    SERVICE + "    imag: x\n",
    SERVICE + "    env: {DEBUG: yes}\n",
    SERVICE + "    env: {PERM: 0755}\n",
    SERVICE + "    env: {T: 1:30}\n",
    "services:\n  a.b: {path: svc, port: 80}\n",
    "services:\n  a-: {path: svc, port: 80}\n",
    "services:\n  a: {path: svc}\n",
    "services:\n  a: {port: 80}\n",
    "services:\n  a: {path: svc, image: x, port: 80}\n",
    SERVICE + "    port: 70000\n",
    SERVICE + "    publish_mode: mesh\n",
    SERVICE + "    replicas: -1\n",
    SERVICE + "    smoke: health\n    publish: 80\n",
    SERVICE + "    healthcheck: {http: health}\n",
    SERVICE + "    mounts: ['relative:/x']\n",
    "deploy: {lock: 'my lock'}\n" + SERVICE,
]


@pytest.mark.parametrize("text", GOOD)
def test_the_schema_and_the_parser_take_the_same_good_configs(text, tmp_path, monkeypatch):
    monkeypatch.setenv("GOSWARM_ROOT", str(tmp_path))
    data = yaml.safe_load(text)
    assert valid_by_parser(data, tmp_path) and valid_by_schema(data)


@pytest.mark.parametrize("text", BAD)
def test_the_schema_and_the_parser_refuse_the_same_bad_configs(text, tmp_path, monkeypatch):
    monkeypatch.setenv("GOSWARM_ROOT", str(tmp_path))
    data = yaml.safe_load(text)
    assert not valid_by_parser(data, tmp_path) and not valid_by_schema(data)
