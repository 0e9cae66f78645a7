"""The JSON Schema of goswarm.yaml, for editors (`goswarm schema` prints it; init names it on the file's first
line, as yaml-language-server reads it). Pure.

Its keys come from the parser's own tables, so they cannot drift: every section key in settings.DEFAULTS (passed in),
every service field in plan/config.py. The types below describe the fields; a field with none listed here
is still allowed (as `{}`), and tests/unit/test_schema.py checks the schema against the parser on a table of
good and bad configs. The parser stays what validates: it also checks what a schema cannot (paths inside the
project, ports published twice, a PORT in env that differs from port).
"""
from goswarm.plan import config, strict, tuning

URL = "https://json-schema.org/draft/2020-12/schema"
FILE = "goswarm.schema.json"  # next to goswarm.yaml, where init writes it

_STRING = {"type": "string"}
_PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
_STRINGS = {"type": "array", "items": _STRING}
_SECONDS = {"type": ["number", "string"]}

_DURATION = {"type": ["number", "string"], "description": "Seconds, or like 10s, 500ms, 1m30s."}
_TIMING = {"interval": _DURATION, "timeout": _DURATION, "start_period": _DURATION,
           "retries": {"type": "integer", "minimum": 1}}
_COMMAND = {"oneOf": [{"type": "string", "minLength": 1},
                      {"type": "array", "minItems": 1, "items": {"type": ["string", "number"]}}]}
_AMOUNTS = {"type": "object", "properties": {"cpus": {"type": ["number", "string"]},
                                             "memory": {"type": ["integer", "string"]}},
            "additionalProperties": False}


def _rollout(actions) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": {
        "parallelism": {"type": "integer", "minimum": 0}, "delay": _DURATION, "monitor": _DURATION,
        "order": {"enum": list(tuning.ORDERS)}, "failure_action": {"enum": list(actions)},
        "max_failure_ratio": {"type": "number", "minimum": 0, "maximum": 1}}}


SERVICE_FIELDS = {
    "secrets": {"type": "object", "description": "Docker secrets at /run/secrets/NAME: {NAME: {env: VAR} or "
                                                "{file: PATH}}; the spec names them, never their values.",
                "additionalProperties": {"type": "object", "properties": {"env": _STRING, "file": _STRING},
                                         "additionalProperties": False,
                                         "oneOf": [{"required": ["env"]}, {"required": ["file"]}]}},
    "configs": {"type": "object", "description": "Docker configs: {NAME: {file: PATH, target: /where}} (target "
                                                "default: /NAME).",
                "additionalProperties": {"type": "object", "required": ["file"], "additionalProperties": False,
                                         "properties": {"file": _STRING, "target": {"type": "string",
                                                                                     "pattern": "^/"}}}},
    "resources": {"type": "object", "properties": {"limits": _AMOUNTS, "reservations": _AMOUNTS},
                  "additionalProperties": False,
                  "description": "{limits: {cpus: 0.5, memory: 256M}, reservations: {...}}"},
    "command": {**_COMMAND, "description": "Replaces the image's ENTRYPOINT."},
    "args": {**_COMMAND, "description": "Replaces the image's CMD: the arguments of its entrypoint."},
    "labels": {"type": "object", "additionalProperties": _STRING,
               "description": "Labels on the service, beside goswarm's own io.goswarm.* ones."},
    "volumes": {"type": "array",
                "items": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]*:/[^:]*(:(ro|rw))?$"},
                "description": "Named volumes, NAME:TARGET[:ro] (a node's path is a bind mount: mounts)."},
    "networks": {"type": "array", "items": _STRING, "description": "Networks to join besides swarm.network."},
    "preferences": {"type": "array", "items": {"oneOf": [
        _STRING, {"type": "object", "properties": {"spread": _STRING}, "required": ["spread"],
                  "additionalProperties": False}]},
        "description": "Placement preferences: spread the tasks over a node label (node.labels.zone, or "
                       "{spread: node.labels.zone})."},
    "stop_grace_period": {**_DURATION, "description": "How long a stopping task gets before SIGKILL (default 15s)."},
    "stop_signal": {"type": "string", "pattern": "^(SIG[A-Z0-9+-]+|[0-9]{1,2})$",
                    "description": "The signal that stops a task (default: the image's, else SIGTERM)."},
    "update": {**_rollout(tuning.FAILURE_ACTIONS["update"]),
               "description": "How an update rolls: parallelism, delay, order, monitor, failure_action, "
                              "max_failure_ratio (default: one task at a time, a 1 s monitor, rollback)."},
    "rollback": {**_rollout(tuning.FAILURE_ACTIONS["rollback"]),
                 "description": "How a rollback rolls, with the same keys as update (failure_action: pause)."},
    "path": {**_STRING, "description": "The Go module directory to build, relative to this file."},
    "image": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$",
              "description": "An image deployed as it is, never built (instead of path)."},
    "main": {**_STRING, "description": "The main package, relative to path."},
    "gopath": {"type": "string", "pattern": config._IMPORT_PATH.pattern,
               "description": "For code with no go.mod: the import path of path, built in GOPATH mode with its "
                              "vendor/."},
    "port": {**_PORT, "description": "The port the service listens on (it gets it in PORT)."},
    "publish": {"oneOf": [_PORT, {"type": "null"}], "description": "The port published on the swarm's nodes."},
    "publish_mode": {"enum": list(config.PUBLISH_MODES),
                     "description": "edge: goswarm's HTTP edge holds the port and updates fail no request; host: "
                                    "the task binds it (stop-first); ingress: the routing mesh (needs IPVS)."},
    "response_timeout": {"type": "number", "minimum": 0.1, "maximum": 3600,
                         "description": "Seconds the edge waits for a task's answer; then a GET is retried on "
                                        "another task, anything else gets 504 (default 60)."},
    "replicas": {"type": "integer", "minimum": 0, "description": "How many tasks run (default 1)."},
    "smoke": {"oneOf": [{"type": "string", "pattern": "^/"}, {"type": "null"}],
              "description": "A path that must answer 2xx: in each new task before it takes a request, and where "
                             "the service is published after a deploy."},
    "env": {"type": "object", "additionalProperties": _STRING,
            "description": "Environment variables: quote every value (YAML reads yes as true, 0755 as 493)."},
    "constraints": {**_STRINGS, "description": "Placement constraints, as docker service create --constraint "
                                               "takes them (node.role==worker)."},
    "dockerfile": {**_STRING, "description": "The Dockerfile, relative to path (default: path's own Dockerfile, "
                                             "else goswarm's FROM scratch one)."},
    "build": {"enum": ["go", "docker"],
              "description": "go: goswarm compiles the binary when the Dockerfile only copies it (default); docker: "
                             "the Dockerfile is built as written."},
    "build_args": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
                   "description": "Values for the Dockerfile's ARGs."},
    "protocol": {"enum": list(config.PROTOCOLS),
                 "description": "http (default): the edge is HAProxy, which retries; tcp: goswarm's L4 forwarder."},
    "healthcheck": {"oneOf": [
        {"type": "null"}, {"const": False}, {"type": "array", "maxItems": 0},
        {"type": "object", "properties": {"http": {"type": "string", "pattern": "^/"}, "port": _PORT, **_TIMING},
         "required": ["http"], "additionalProperties": False},
        {"type": "object", "properties": {"tcp": {"const": True}, **_TIMING}, "required": ["tcp"],
         "additionalProperties": False},
        {"type": "object", "properties": {"command": _COMMAND, **_TIMING}, "required": ["command"],
         "additionalProperties": False},
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}],
        "description": "{http: /health} (GET inside the container, by goswarm's probe), {tcp: true}, {command: "
                       "[...]}, with interval, timeout, retries, start_period; none or false: no check; "
                       "default: the image's HEALTHCHECK, else the port."},
    "with": {"type": "array", "items": {"type": "string", "minLength": 1},
             "description": "More Go main packages (directories in the project) built into the build context as "
                            "<directory name>-<os>-<arch>."},
    "mounts": {"type": "array", "items": {"type": "string", "pattern": "^/[^:]*:/[^:]*(:(ro|rw))?$"},
               "description": "Bind mounts of a node's paths, SOURCE:TARGET[:ro]."},
    "load": {"type": "object", "properties": {"path": {"type": "string", "pattern": "^/"},
                                              "ids": {"type": ["string", "integer"]}},
             "additionalProperties": False,
             "description": "What goswarm load GETs: {path: /accounts/{id}, ids: 10000-10099}."},
}

SECTION_KEYS = {
    ("deploy", "timeout"): _SECONDS, ("deploy", "lock_ttl"): _SECONDS,
    ("deploy", "lock"): {"oneOf": [{"type": "string", "pattern": "^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$"},
                                   {"type": "null"}]},
    ("lab", "nodes"): {"type": ["integer", "string"]},
    ("hooks", "pre-deploy"): {"oneOf": [_STRING, _STRINGS]}, ("hooks", "post-deploy"): {"oneOf": [_STRING, _STRINGS]},
    ("swarm", "advertise_addr"): {"type": ["string", "null"]}, ("swarm", "manager"): {"type": ["string", "null"]},
}


def _service() -> dict:
    return {"type": "object", "additionalProperties": False,
            "properties": {name: SERVICE_FIELDS.get(name, {}) for name in sorted(config._FIELDS)},
            "oneOf": [{"required": ["path", "port"]}, {"required": ["image", "port"]}]}


def _section(name: str, keys) -> dict:
    return {"type": "object", "additionalProperties": False,
            "properties": {key: SECTION_KEYS.get((name, key), _STRING) for key in keys}}


def schema(defaults: dict, top_level: set) -> dict:
    """The whole schema, as a plain dict (JSON Schema 2020-12). defaults: settings.DEFAULTS, whose sections'
    keys are the keys of the file's sections; top_level: settings.top_level_keys()."""
    sections = [k for k, v in defaults.items() if isinstance(v, dict) and k != "addons"]
    names = {"type": "string", "pattern": strict.SERVICE_NAME.pattern, "maxLength": strict.NAME_MAX}
    others = sorted(top_level - {*defaults, "services"})
    return {
        "$schema": URL,
        "title": "goswarm.yaml",
        "description": "goswarm's project config: https://pypi.org/project/goswarm/",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "project": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$",
                        "description": "Labels every service this project creates; names its deploy lock."},
            **{name: _section(name, defaults[name]) for name in sections},
            "services": {"type": "object", "propertyNames": names, "additionalProperties": _service()},
            "addons": {"type": "object", "propertyNames": names, "additionalProperties": _service()},
            **{name: {"type": "object", "description": "Invoke's own settings."} for name in others},
        },
        "required": ["services"],
    }


def text(defaults: dict, top_level: set) -> str:
    import json

    return json.dumps(schema(defaults, top_level), indent=2) + "\n"
