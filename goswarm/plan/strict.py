"""Config mistakes that YAML and Invoke let through, each as one line: a misspelt key (with the nearest known
one), a value YAML 1.1 changed the type of (PyYAML, which Invoke reads config files with, takes `yes` for true,
0755 for 493 and 1:30 for 90), a name the engine would refuse after the build. Pure."""
import difflib
import re

from goswarm.errors import ConfigError

# What swarmkit accepts as a service name (a DNS label: no dots, no leading or trailing '-' or '_'), lower
# case as image repositories must be.
SERVICE_NAME = re.compile(r"^[a-z0-9](?:[-_]*[a-z0-9]+)*$")
NAME_MAX = 63
_BOOLEAN_WORDS = "yes/no, on/off, y/n and true/false"


def nearest(key, known) -> str:
    """`did you mean X?` for the closest known key, else the list of known keys."""
    close = difflib.get_close_matches(str(key), sorted(map(str, known)), n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else f"no such key (known: {', '.join(sorted(map(str, known)))})"


def known_keys(where: str, given: dict, known) -> None:
    """Refuse the first key of `given` that is not in `known`: `deploy.timout: did you mean timeout?`."""
    for key in given:
        if key in known:
            continue
        place = f"{where}.{key}" if where else str(key)
        if not isinstance(key, str):
            raise ConfigError(f"{place}: YAML read this key as {what_yaml_made(key)}; quote it")
        raise ConfigError(f"{place}: {nearest(key, known)}")


def what_yaml_made(value) -> str:
    """A value that is no string, as YAML 1.1 made it, for a message that says to quote it."""
    if isinstance(value, bool):
        return f"{str(value).lower()} ({_BOOLEAN_WORDS} are booleans)"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "null"
    return f"a {type(value).__name__} {value!r}"


def env(where: str, values: dict, port) -> dict:
    """`env:` as the container gets it: every key and value a string exactly as written, and no PORT other
    than `port:` (goswarm sets PORT from it)."""
    for key, value in values.items():
        if not isinstance(key, str):
            raise ConfigError(f"{where}: the key {key!r} is no string: YAML read it as {what_yaml_made(key)}; "
                              f"quote it")
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{key} must be a string, but YAML read it as {what_yaml_made(value)}: quote "
                              f"the value to keep it as written")
    if "PORT" in values and values["PORT"] != str(port):
        raise ConfigError(f"{where}.PORT is {values['PORT']!r} but port is {port}: goswarm sets PORT from port; "
                          f"remove PORT from env, or set port: {values['PORT']}")
    return dict(values)


def service_name(where: str, name) -> None:
    """A name the engine takes for a service, checked before anything is built."""
    if not isinstance(name, str) or len(name) > NAME_MAX or not SERVICE_NAME.match(name):
        raise ConfigError(f"{where}: the engine takes service names of a-z, 0-9, and '-' or '_' between them, "
                          f"at most {NAME_MAX} characters (no '.', no '-' or '_' at either end); got {name!r}")


def first_non_string_key(data, path: tuple = ()):
    """(the dotted path to it, the key) of the first mapping key that YAML made no string (`NO:` is false),
    or None."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                return ".".join(path) or "the top level", key
            found = first_non_string_key(value, (*path, key))
            if found:
                return found
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found = first_non_string_key(value, (*path, str(i)))
            if found:
                return found
    return None
