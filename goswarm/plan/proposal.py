"""What `goswarm init` proposes for a project's Go main packages, and the text of the files it writes: the
commented goswarm.yaml, the .env.example lines and the .gitignore stanza. Pure: takes the files' texts.

A main whose binary another main's Dockerfile adds goes into that image (`with:`); every other main is a
service, named after its directory or after the binary its own Dockerfile adds, with the port, health route
and smoke path its code shows (gosource) and its Dockerfile declares.
"""
import json
import re
from dataclasses import dataclass, field
from typing import Optional

from goswarm import program
from goswarm.plan import config, dockerbuild, gosource
from goswarm.plan import dockerfile as dockerfiles


@dataclass
class Proposal:
    """One service init proposes: a Go main, what its Dockerfile says, and what its code suggests."""
    name: str
    main: gosource.Main
    dockerfile: Optional[str] = None  # its own, relative to the project
    image_healthcheck: Optional[str] = None  # the Dockerfile's HEALTHCHECK, kept as declared
    ports: list = field(default_factory=list)  # gosource.Found guesses, one per distinct port
    port: Optional[gosource.Found] = None  # the one chosen
    health: Optional[gosource.Found] = None  # a health or readiness route
    smoke: Optional[gosource.Found] = None
    with_mains: list = field(default_factory=list)  # directories of the mains its Dockerfile adds
    publish: Optional[int] = None
    serves: bool = True  # its code listens for connections (else it is a tool or a client, left out)
    health_port: Optional[gosource.Found] = None  # a listener of its own for health checks (-health :81)
    build_args: dict = field(default_factory=dict)  # for its Dockerfile's ARGs, where the Dockerfile shows them
    build_how: str = ""  # what goswarm does with its Dockerfile, in words
    health_note: str = ""  # why the health route is written commented out (it did not answer 2xx in a trial)
    smoke_note: str = ""  # the same for the smoke path
    gopath: str = ""  # the import path of a project with no go.mod, built in GOPATH mode with its vendor/


def slug(text: str, fallback: str) -> str:
    """A name Docker and goswarm accept (lower case, digits, '-', '_', '.'), from a directory's name."""
    name = re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-_.")[:58] or fallback
    return name + "-app" if name.endswith("-edge") else name  # -edge names are the edge services'


def propose(files: dict, own_dockerfiles: dict, project: str) -> tuple:
    """(services, helpers): a Proposal per Go main that is a service, and {helper dir: service name} for the
    mains whose binary another main's Dockerfile adds (they go into that image, `with:`). files: path ->
    text of the .go and go.mod files; own_dockerfiles: a main's directory -> its Dockerfile's text."""
    mains = gosource.mains(files)
    by_binary = {_binary_name(m.dir, project): m for m in mains}
    proposals, helpers = [], {}
    for main in mains:
        proposal = Proposal(slug(_binary_name(main.dir, project), "service"), main)
        text = own_dockerfiles.get(main.dir)
        if text is not None:
            _read_dockerfile(proposal, text, by_binary)
        proposals.append(proposal)
    for proposal in proposals:
        for directory in proposal.with_mains:
            helpers.setdefault(directory, proposal.name)
    services = [p for p in proposals if p.main.dir not in helpers]
    for proposal in services:
        _read_code(proposal, files, mains, own_dockerfiles.get(proposal.main.dir))
    return _unique_names(services), helpers


def _binary_name(directory: str, project: str) -> str:
    return project if directory == "." else directory.rsplit("/", 1)[-1]


def _read_dockerfile(proposal: Proposal, text: str, by_binary: dict) -> None:
    """Its Dockerfile names the binaries it expects: another main's is a `with:`; one that is no other
    main's is its own, and names the service (the Dockerfile says accountservice-linux-amd64)."""
    proposal.dockerfile = _join(proposal.main.dir, "Dockerfile")
    proposal.image_healthcheck = dockerfiles.healthcheck(text)
    own = []
    for name, _os, _arch in dockerfiles.binaries(text, {"BINARY": f"{proposal.name}-linux-amd64"}):
        other = by_binary.get(name)
        if other and other.dir != proposal.main.dir:
            proposal.with_mains.append(other.dir)
        else:
            own.append(name)
    if len(own) == 1 and config.valid_name(own[0]):
        proposal.name = own[0]
    proposal.build_args = shown_build_args(text)
    names = {proposal.name, proposal.main.dir.rsplit("/", 1)[-1], dockerfiles.entrypoint_binary(text)} - {None}
    args = {"BINARY": f"{proposal.name}-linux-amd64", "TARGETOS": "linux", "TARGETARCH": "amd64",
            **proposal.build_args}
    planned = dockerbuild.plan(text, names, f"{proposal.name}-linux-amd64", args)
    proposal.build_how = (f"goswarm compiles the binary on this host and builds the Dockerfile's final stage with it "
                          f"at {planned.dest}" if planned.how == "binary" else f"built as written: {planned.why}")
    if planned.bases:
        proposal.build_how += f"; it needs the image{'s' if len(planned.bases) > 1 else ''} {', '.join(planned.bases)}"


def shown_build_args(text: str) -> dict:
    """The build args a Dockerfile shows the value of: an ARG with no default that names the last part of a path
    its ADD/COPY lines take, where the ENTRYPOINT runs a file of that name (`COPY dist/$TARGETOS/$TARGETARCH/
    $BIN_NAME /` with `ENTRYPOINT ["/http-echo"]` gives BIN_NAME: http-echo)."""
    runs = dockerfiles.entrypoint_binary(text)
    declared = {w.split("=")[0] for s in dockerfiles.instructions(text) if s.keyword == "ARG" for w in s.args.split()
                if "=" not in w}
    found = {}
    for step in dockerfiles.instructions(text):
        if step.keyword not in ("ADD", "COPY") or not runs:
            continue
        for source in [w for w in step.args.split()[:-1] if not w.startswith("--")]:
            last = source.rstrip("/").rsplit("/", 1)[-1]
            match = re.fullmatch(r"\$\{?(\w+)\}?", last)
            if match and match.group(1) in declared and not match.group(1).startswith("TARGET") and \
                    match.group(1) != "BINARY":
                found[match.group(1)] = runs
    return found


def _read_code(proposal: Proposal, files: dict, mains: list, own_dockerfile: Optional[str]) -> None:
    sources = gosource.sources_of(proposal.main, files, mains)
    reached = gosource.with_imports(proposal.main, files, sources)  # its packages: where the server may be
    proposal.serves = gosource.serves(reached)
    guesses = gosource.ports(sources) or gosource.ports(reached)
    if own_dockerfile:
        guesses += [gosource.Found(port, proposal.dockerfile, line, f"EXPOSE {port}")
                    for port, line in dockerfiles.exposed(own_dockerfile)]
    proposal.ports = list({g.value: g for g in reversed(guesses)}.values())[::-1]  # the first of each port
    http = [g for g in proposal.ports if re.search(r'"http[\w.-]*"', g.text, re.I)]
    if len(proposal.ports) == 1:
        proposal.port = proposal.ports[0]
    elif len(http) == 1:  # several listeners (debug, gRPC, HTTP...): the HTTP one is what goswarm serves
        proposal.port = http[0]
    found = gosource.routes(reached)
    proposal.health = gosource.health_route(found)
    listeners = [g for g in gosource.health_listeners(reached) if g.value not in {p.value for p in proposal.ports}]
    proposal.health_port = listeners[0] if listeners and proposal.health else None
    # The smoke test reaches the published port: a health route on a listener of its own is not there.
    proposal.smoke = (None if proposal.health_port else proposal.health) or gosource.root_route(found)


def _unique_names(proposals: list) -> list:
    """Two mains named alike (svc1/cmd/api, svc2/cmd/api) are told apart by their directories."""
    names = [p.name for p in proposals]
    for proposal in proposals:
        if names.count(proposal.name) > 1:
            proposal.name = slug(proposal.main.dir.replace("/", "-"), proposal.name)
    return proposals


def _join(directory: str, name: str) -> str:
    return name if directory == "." else f"{directory}/{name}"


def publish_ports(proposals: list) -> list:
    """Each service is published on its own port number (edge mode); a number taken by an earlier one is
    left unpublished, as two services cannot publish one port."""
    taken = set()
    for proposal in proposals:
        number = proposal.port.value if proposal.port else None
        proposal.publish = number if number is not None and number not in taken else None
        taken.add(number)
    return proposals


def _scalar(value) -> str:
    """A YAML scalar that reads back as the same string (JSON's quoting is YAML's)."""
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z_./][\w./-]*", text) and text.lower() not in (
        "true", "false", "yes", "no", "on", "off", "null", "y", "n")
    return text if plain else json.dumps(text)


def _line(key: str, value: str, comment: str, indent: int = 4) -> str:
    """`key: value  # comment`, the comments aligned; a comment too long for the line goes above it."""
    text = f"{' ' * indent}{key}: {value}"
    line = f"{text.ljust(indent + 28)}  # {comment}"
    return line if len(line) <= 118 else f"{' ' * indent}# {comment}\n{text}"


SCHEMA_LINE = "# yaml-language-server: $schema=goswarm.schema.json"  # `goswarm schema` writes that file
HEADER = """\
# goswarm's config for this project, written by `goswarm init` (edit it freely: init never overwrites it).
# GOSWARM_* variables override a key for one run (GOSWARM_DEPLOY_TIMEOUT=120), and so does `goswarm -f FILE`.
# Per-machine values and secrets (DOCKER_HOST, registry credentials) go in .env: see .env.example."""


def render(proposals: list, project: str, defaults: dict) -> str:
    """The goswarm.yaml text: the shared sections with their `defaults` (settings.DEFAULTS), then one commented
    block per service."""
    prefix = slug(project, "goswarm")
    name = prefix[:40].strip("-_.")
    lock = _line("lock", f"goswarm-deploy-lock-{name}", "one deploy at a time per lock; by default the "
                                                        "project's own", 0)
    return "\n".join([
        SCHEMA_LINE,
        HEADER,
        _line("project", _scalar(name), "labels every service goswarm creates here: another project's (or "
                                        "one made by hand) is only taken over with --adopt", 0),
        "image:",
        _line("prefix", _scalar(prefix), f"images are [registry/]{prefix}/<service>:<content key>", 2),
        _line("registry", '""', "empty: images stay on this engine; host:port: pushed there (for several nodes)", 2),
        "build:",
        _line("platforms", defaults["build"]["platforms"], "os/arch to compile for, comma-separated: binaries are "
                                                           "dist/<name>-<os>-<arch>", 2),
        "swarm:",
        _line("network", defaults["swarm"]["network"], "the overlay network every service joins; "
                                                       f"{program.run('swarm.init')} creates it", 2),
        "deploy:",
        _line("timeout", str(defaults["deploy"]["timeout"]), "seconds a service has to converge, or its update "
                                                            "is undone", 2),
        f"  # {lock}",
        "",
        "# One entry per Go service; each gets its port in the PORT environment variable.",
        "services:",
        *(render_service(p) for p in proposals),
    ]) + "\n"


def building(proposals: list, project: str) -> dict:
    """The part of the config init writes that building the images reads, as the plain dict the config parser
    takes (init's trial run builds them before it writes the file)."""
    services = {}
    for p in proposals:
        module = p.main.module or p.main.dir
        raw = {"path": module, "main": p.main.package, "port": p.port.value}
        if p.dockerfile and p.dockerfile != _join(module, "Dockerfile"):
            raw["dockerfile"] = p.dockerfile
        if p.build_args:
            raw["build_args"] = dict(p.build_args)
        if p.gopath:
            raw["gopath"] = p.gopath
        if p.with_mains:
            raw["with"] = list(p.with_mains)
        services[p.name] = raw
    return {"image": {"prefix": slug(project, "goswarm")}, "services": services}


def render_service(p: Proposal) -> str:
    module = p.main.module or p.main.dir
    lines = [f"  {_scalar(p.name)}:",
             _line("path", _scalar(module), "the Go module (its go.mod) to build in, relative to this file"
                   if not p.gopath else "the code's root, relative to this file (no go.mod: see gopath)"),
             *([_line("gopath", _scalar(p.gopath), "its import path: built in GOPATH mode with its vendor/")]
               if p.gopath else []),
             _line("main", _scalar(p.main.package), "the main package, relative to path")]
    if p.dockerfile:
        if p.dockerfile != _join(module, "Dockerfile"):
            lines.append(_line("dockerfile", _scalar(p.dockerfile), "its own Dockerfile"))
        lines.append(f"    # {p.dockerfile}: {p.build_how}" if p.build_how else
                     f"    # {p.dockerfile} gets the binary in its build context as {p.name}-<os>-<arch>")
        if p.build_args:
            shown = ", ".join(f"{k}: {_scalar(v)}" for k, v in p.build_args.items())
            lines.append(_line("build_args", f"{{{shown}}}", "its Dockerfile's ARGs, from what its ENTRYPOINT runs"))
    else:
        lines.append("    # no Dockerfile of its own: goswarm's shared one runs the binary alone in an empty image")
    lines.append(_line("port", str(p.port.value), f"it listens here: {p.port.where}"))
    lines += _render_publish(p)
    lines.append(_line("replicas", "1", "how many tasks run it"))
    lines += _render_health(p)
    if p.with_mains:
        names = ", ".join(_scalar(d) for d in p.with_mains)
        binaries = ", ".join(f"{d.rsplit('/', 1)[-1]}-<os>-<arch>" for d in p.with_mains)
        lines.append(_line("with", f"[{names}]", f"its Dockerfile adds {binaries}: built into its build context"))
    return "\n".join(lines)


def _render_publish(p: Proposal) -> list:
    if p.publish is None:
        return [f"    # publish: {p.port.value}  # another service publishes this number: pick one to reach it "
                f"from outside; until then it answers only on the overlay network as {p.name}:{p.port.value}"]
    return [_line("publish", str(p.publish), "clients reach it on this port of every node"),
            _line("publish_mode", "edge", f"{p.name}-edge holds the port, forwards to healthy tasks: no failed "
                                          f"request in an update")]


def _render_health(p: Proposal) -> list:
    lines = []
    if p.image_healthcheck:
        lines.append(f"    # healthcheck: its Dockerfile's own HEALTHCHECK ({_short(p.image_healthcheck)}) is kept")
    elif p.health and p.health_note:
        shown = f"{{http: {_scalar(p.health.value)}" + (f", port: {p.health_port.value}" if p.health_port else "")
        lines.append(f"    # healthcheck: {shown}}}  # {p.health_note}")
        lines.append(_line("healthcheck", "{tcp: true}", "until then: healthy once the port accepts connections"))
    elif p.health and p.health_port:
        lines.append(_line("healthcheck", f"{{http: {_scalar(p.health.value)}, port: {p.health_port.value}}}",
                           f"GET on its health listener ({p.health_port.where}; {p.health.where})"))
    elif p.health:
        lines.append(_line("healthcheck", f"{{http: {_scalar(p.health.value)}}}",
                           f"GET must answer 2xx inside the container ({p.health.where})"))
    else:
        lines.append(_line("healthcheck", "{tcp: true}", "no health route found: healthy once the port accepts "
                                                         "connections"))
    if p.smoke and p.publish is not None and p.smoke_note:
        lines.append(f"    # smoke: {_scalar(p.smoke.value)}  # {p.smoke_note}")
    elif p.smoke and p.publish is not None:
        lines.append(_line("smoke", _scalar(p.smoke.value), "must answer 2xx after every deploy, or the deploy is "
                                                            "rolled back"))
    else:
        lines.append("    # " + _line("smoke", "/some/path", "a path that must answer 2xx after every deploy (needs "
                                            "publish)", 0))
    return lines


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


ENV_EXAMPLE = {
    "DOCKER_HOST": "# The Docker engine to deploy to (default: the local socket); a remote manager over SSH: "
                   "ssh://root@10.0.0.5\nDOCKER_HOST=unix:///var/run/docker.sock",
    "MANAGER_IP": "# Where published ports answer, for the smoke test (default: 127.0.0.1 for a local engine, "
                  "else the DOCKER_HOST's host)\nMANAGER_IP=127.0.0.1",
    "REGISTRY_USERNAME": "# Registry credentials, when image.registry is set\nREGISTRY_USERNAME=",
    "REGISTRY_PASSWORD": "REGISTRY_PASSWORD=",
}
ENV_HEADER = "# goswarm: copy to .env (never committed) and fill in what differs on your machine; real environment " \
             "variables win."
IGNORED = ("dist/", ".swarm/", ".machines/", ".env")
IGNORE_HEADER = "# goswarm: build output and per-machine state (join tokens, machine keys, secrets)"


def env_example_addition(existing: str) -> str:
    """The .env.example lines goswarm reads that `existing` lacks (set or commented out); "" when none."""
    missing = [text for key, text in ENV_EXAMPLE.items()
               if not re.search(rf"^\s*#?\s*{key}=", existing, re.M)]
    return "\n".join([ENV_HEADER, *missing]) + "\n" if missing else ""


def gitignore_addition(existing: str) -> str:
    """The .gitignore lines that keep goswarm's output and secrets out of git, those `existing` lacks."""
    present = {line.strip().strip("/") for line in existing.splitlines()}
    missing = [entry for entry in IGNORED if entry.strip("/") not in present]
    return "\n".join([IGNORE_HEADER, *missing]) + "\n" if missing else ""


def describe(p: Proposal) -> str:
    published = f"published on {p.publish} in edge mode" if p.publish else "not published (the port is taken)"
    health = ("the image's own HEALTHCHECK" if p.image_healthcheck else
              f"GET {p.health.value} on port {p.health_port.value}" if p.health and p.health_port else
              f"GET {p.health.value}" if p.health else "its port accepts connections")
    smoke = f"; smoke {p.smoke.value}" if p.smoke and p.publish else ""
    return f"{p.name} ({p.main.dir}/): port {p.port.value} ({p.port.where}), {published}; health: {health}{smoke}"
