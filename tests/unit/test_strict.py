"""plan/strict.py: misspelt keys, values YAML 1.1 changed, names the engine refuses, each one line."""
import pytest
from invoke.util import yaml

from goswarm.errors import ConfigError
from goswarm.plan import strict


@pytest.mark.parametrize("where, key, known, message", [
    ("deploy", "timout", {"timeout", "lock", "lock_ttl"}, "deploy.timout: did you mean timeout?"),
    ("", "servces", {"services", "image"}, "servces: did you mean services?"),
    ("services.a", "imag", {"image", "path", "port"}, "services.a.imag: did you mean image?"),
    ("lab", "zz", {"nodes", "prefix"}, "lab.zz: no such key (known: nodes, prefix)"),
    ("services.a", False, {"env"}, "services.a.False: YAML read this key as false (yes/no, on/off, y/n and "
                                   "true/false are booleans); quote it"),
])
def test_an_unknown_key_is_named_with_the_nearest_known_one(where, key, known, message):
    with pytest.raises(ConfigError) as e:
        strict.known_keys(where, {key: 1}, known)
    assert str(e.value) == message


def test_known_keys_pass():
    strict.known_keys("deploy", {"timeout": 1}, {"timeout"})


def env_of(text: str, port: int = 80) -> dict:
    """`env:` as PyYAML reads it (YAML 1.1), which is how Invoke reads config files."""
    return strict.env("services.a.env", yaml.safe_load(text), port)


@pytest.mark.parametrize("text, message", [
    ("{DEBUG: yes}", "services.a.env.DEBUG must be a string, but YAML read it as true (yes/no, on/off, y/n and "
                     "true/false are booleans): quote the value to keep it as written"),
    ("{PERM: 0755}", "services.a.env.PERM must be a string, but YAML read it as the number 493: quote"),
    ("{T: 1:30}", "services.a.env.T must be a string, but YAML read it as the number 90: quote"),
    ("{N: 1}", "services.a.env.N must be a string, but YAML read it as the number 1"),
    ("{E: }", "services.a.env.E must be a string, but YAML read it as null"),
    ("{NO: '1'}", "services.a.env: the key False is no string: YAML read it as false"),
    ("{PORT: '9999'}", "services.a.env.PORT is '9999' but port is 80: goswarm sets PORT from port; remove PORT "
                       "from env, or set port: 9999"),
])
def test_env_values_are_strings_as_written(text, message):
    with pytest.raises(ConfigError) as e:
        env_of(text)
    assert str(e.value).startswith(message) and "\n" not in str(e.value)


def test_quoted_values_and_a_port_that_agrees_pass():
    assert env_of("{DEBUG: 'yes', PERM: '0755', T: '1:30', PORT: '80'}") == {
        "DEBUG": "yes", "PERM": "0755", "T": "1:30", "PORT": "80"}


@pytest.mark.parametrize("name", ["a", "accountservice", "quotes-service", "a_b", "a--b", "x" * 63, "0a"])
def test_names_the_engine_takes(name):
    strict.service_name("services." + name, name)


@pytest.mark.parametrize("name", ["a.b", "a-", "a_", "-a", "_a", "A", "a b", "x" * 64, "", 5, None])
def test_names_the_engine_refuses_are_refused_before_any_build(name):
    with pytest.raises(ConfigError, match=r"the engine takes service names of a-z, 0-9, and '-' or '_' between"):
        strict.service_name(f"services.{name}", name)


def test_the_first_key_yaml_made_no_string_is_found_with_its_path():
    assert strict.first_non_string_key(yaml.safe_load("services:\n  a:\n    env: {NO: 1}\n")) == (
        "services.a.env", False)
    assert strict.first_non_string_key(yaml.safe_load("on: [1]\n")) == ("the top level", True)
    assert strict.first_non_string_key(yaml.safe_load("a: [{b: {1: x}}]\n")) == ("a.0.b", 1)
    assert strict.first_non_string_key({"a": {"b": "c"}}) is None
