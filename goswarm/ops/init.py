"""`goswarm init`: a commented goswarm.yaml for the Go main packages of a project, .env.example lines and a
.gitignore stanza. It never overwrites a file: it writes goswarm.yaml only where there is no config yet, and
only adds lines to the other two.

Decide, then act: the proposal (which mains are services, which go into another's image, ports, health
checks) is made from the files' texts; ports that cannot be read from the code come from --port, or are
asked for at a terminal; then everything is written at once.
"""
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from goswarm import program
from goswarm.errors import ConfigError, PipelineError
from goswarm.io import environment
from goswarm.plan import config, gosource, output
from goswarm.plan import dockerfile as dockerfiles
from goswarm.settings import DEFAULTS

CONFIG = "goswarm.yaml"
ASKS = 3  # answers we take to one question before giving up


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


# --- pure -----------------------------------------------------------------

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


def _read_code(proposal: Proposal, files: dict, mains: list, own_dockerfile: Optional[str]) -> None:
    sources = gosource.sources_of(proposal.main, files, mains)
    proposal.serves = gosource.serves(sources)
    guesses = gosource.ports(sources)
    if own_dockerfile:
        guesses += [gosource.Found(port, proposal.dockerfile, line, f"EXPOSE {port}")
                    for port, line in dockerfiles.exposed(own_dockerfile)]
    proposal.ports = list({g.value: g for g in reversed(guesses)}.values())[::-1]  # the first of each port
    if len(proposal.ports) == 1:
        proposal.port = proposal.ports[0]
    found = gosource.routes(sources)
    proposal.health = gosource.health_route(found)
    proposal.smoke = proposal.health or gosource.root_route(found)


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


def parse_ports(values) -> dict:
    """--port accountservice=6767 (repeatable, or comma-separated) as {name: port}."""
    ports = {}
    for value in values or []:
        for item in str(value).split(","):
            name, sep, number = item.strip().partition("=")
            if not item.strip():
                continue
            if not sep or not name or not number.isdigit() or not 1 <= int(number) <= 65535:
                raise ConfigError(f"--port takes NAME=PORT (e.g. --port accountservice=6767), got {item.strip()!r}")
            ports[name.strip()] = int(number)
    return ports


def names_list(value) -> list:
    return [n.strip() for n in str(value or "").split(",") if n.strip()]


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


HEADER = """\
# goswarm's config for this project, written by `goswarm init` (edit it freely: init never overwrites it).
# GOSWARM_* variables override a key for one run (GOSWARM_DEPLOY_TIMEOUT=120), and so does `goswarm -f FILE`.
# Per-machine values and secrets (DOCKER_HOST, registry credentials) go in .env: see .env.example."""


def render(proposals: list, project: str) -> str:
    """The goswarm.yaml text: the shared sections with their defaults, then one commented block per service."""
    prefix = slug(project, "goswarm")
    lock = _line("lock", DEFAULTS["deploy"]["lock"], "one deploy at a time per lock; projects that share a "
                                                     "swarm can each have their own", 0)
    return "\n".join([
        HEADER,
        "image:",
        _line("prefix", _scalar(prefix), f"images are [registry/]{prefix}/<service>:<content key>", 2),
        _line("registry", '""', "empty: images stay on this engine; host:port: pushed there (for several nodes)", 2),
        "build:",
        _line("platforms", DEFAULTS["build"]["platforms"], "os/arch to compile for, comma-separated: binaries are "
                                                           "dist/<name>-<os>-<arch>", 2),
        "swarm:",
        _line("network", DEFAULTS["swarm"]["network"], "the overlay network every service joins; "
                                                       f"{program.run('swarm.init')} creates it", 2),
        "deploy:",
        _line("timeout", str(DEFAULTS["deploy"]["timeout"]), "seconds a service has to converge, or its update "
                                                            "is undone", 2),
        f"  # {lock}",
        "",
        "# One entry per Go service; each gets its port in the PORT environment variable.",
        "services:",
        *(render_service(p) for p in proposals),
    ]) + "\n"


def render_service(p: Proposal) -> str:
    module = p.main.module or p.main.dir
    lines = [f"  {_scalar(p.name)}:",
             _line("path", _scalar(module), "the Go module (its go.mod) to build in, relative to this file"),
             _line("main", _scalar(p.main.package), "the main package, relative to path")]
    if p.dockerfile:
        if p.dockerfile != _join(module, "Dockerfile"):
            lines.append(_line("dockerfile", _scalar(p.dockerfile), "its own Dockerfile"))
        lines.append(f"    # {p.dockerfile} gets the binary in its build context as {p.name}-<os>-<arch>")
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
    elif p.health:
        lines.append(_line("healthcheck", f"{{http: {_scalar(p.health.value)}}}",
                           f"GET must answer 2xx inside the container ({p.health.where})"))
    else:
        lines.append(_line("healthcheck", "{tcp: true}", "no health route found: healthy once the port accepts "
                                                         "connections"))
    if p.smoke and p.publish is not None:
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


# --- the project's files --------------------------------------------------

def read_project(root: Path, skip: tuple) -> tuple:
    """(files, dockerfiles): the .go and go.mod texts under root (path relative to it -> text), and the
    Dockerfile of each directory that has .go files. skip: directories not to look in (dist/, goswarm's own)."""
    files, found = {}, {}
    for directory, subdirs, names in os.walk(root):
        here = Path(directory)
        subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "_")) and d not in gosource.IGNORED_DIRS
                            and (here / d).resolve() not in skip)
        relative = here.relative_to(root).as_posix()
        for name in names:
            if name.endswith(".go") or name == "go.mod":
                files[_join(relative, name)] = (here / name).read_text(errors="replace")
        if "Dockerfile" in names and any(n.endswith(".go") for n in names):
            found[relative] = (here / "Dockerfile").read_text(errors="replace")
    return files, found


def existing_config(root: Path) -> Optional[str]:
    """Why init must not write goswarm.yaml here, or None: a goswarm config exists, or an invoke.yaml that
    configures services (goswarm reads it, and a goswarm.yaml would take its place)."""
    for name in ("goswarm.yaml", "goswarm.yml", "goswarm.json"):
        if (root / name).is_file():
            return f"{name} exists: left as it is"
    for name in ("invoke.yaml", "invoke.yml", "invoke.json"):
        path = root / name
        if path.is_file() and re.search(r'^"?services"?\s*:', path.read_text(errors="replace"), re.M):
            return f"{name} configures the services already (goswarm reads it): no {CONFIG} written"
    return None


# --- asking -----------------------------------------------------------------

def choose_ports(proposals: list, given: dict, ask: Optional[Callable]) -> list:
    """Each service's port: --port first, else the one the code shows, else an answer at the terminal (where an
    empty answer leaves a main that is no service out). Without a terminal, one line names the flag to pass."""
    unknown = sorted(set(given) - {p.name for p in proposals})
    if unknown:
        raise ConfigError(f"--port {unknown[0]}: no service of that name; init found: "
                          f"{', '.join(p.name for p in proposals)}")
    chosen = []
    for proposal in proposals:
        if proposal.name in given:
            proposal.port = gosource.Found(given[proposal.name], "", 0, "--port")
        elif not proposal.serves:
            print(f"{proposal.main.dir}/: left out, its code listens on no port (a tool or a client?); "
                  f"--port {proposal.name}=PORT takes it in")
            continue
        elif proposal.port is None and ask:
            proposal.port = _ask_port(proposal, ask)
        if proposal.port is not None or not ask:
            chosen.append(proposal)
    unresolved = [p for p in chosen if p.port is None]
    if unresolved:
        raise PipelineError(_no_port(unresolved))
    return chosen


def _no_port(proposals: list) -> str:
    first = proposals[0]
    if first.ports:
        seen = " or ".join(f"{g.value} ({g.where})" for g in first.ports)
        why = f"{first.name} ({first.main.dir}/) may listen on {seen}"
    else:
        why = f"cannot tell which port {first.name} ({first.main.dir}/) listens on"
    flags = " ".join(f"--port {p.name}=PORT" for p in proposals)
    return (f"{why}: pass {flags} to {program.run('init')}, or --skip NAME for a main that is no service "
            f"(at a terminal, init asks)")


def _ask_port(proposal: Proposal, ask: Callable) -> Optional[gosource.Found]:
    if proposal.ports:
        seen = ", ".join(f"{g.value} ({g.where})" for g in proposal.ports)
        question = f"{proposal.name} ({proposal.main.dir}/) may listen on {seen}. Its port (Enter: leave it out)? "
    else:
        question = f"Which port does {proposal.name} ({proposal.main.dir}/) listen on? (Enter: not a service, " \
                   f"leave it out) "
    for _ in range(ASKS):
        try:
            answer = ask(question).strip()
        except EOFError:
            raise PipelineError(f"no answer for {proposal.name}'s port: pass --port {proposal.name}=PORT") from None
        if not answer:
            return None
        if answer.isdigit() and 1 <= int(answer) <= 65535:
            return gosource.Found(int(answer), "", 0, "your answer")
        print(f"{answer!r} is not a port number (1-65535)")
    raise PipelineError(f"no port for {proposal.name}: pass --port {proposal.name}=PORT")


# --- the command ------------------------------------------------------------

def init(sh, root: Path, ports=None, skip=None, ask: Optional[Callable] = None) -> None:
    """Propose, settle the ports, then write goswarm.yaml (where no config is), .env.example and .gitignore."""
    writes = []
    held = existing_config(root)
    if held:
        print(held)
    else:
        proposals = plan(root, parse_ports(ports), names_list(skip), ask)
        text = render(proposals, root.name)
        writes.append((f"write {CONFIG} ({_count(proposals)}: {', '.join(p.name for p in proposals)})",
                       root / CONFIG, text, "x"))
    for name, addition in ((".env.example", env_example_addition), (".gitignore", gitignore_addition)):
        path = root / name
        text = addition(path.read_text(errors="replace") if path.is_file() else "")
        if text:
            verb = f"add {len(text.splitlines()) - 1} lines to" if path.is_file() else "write"
            writes.append((f"{verb} {name}", path, ("\n" if _no_final_newline(path) else "") + text, "a"))
        else:
            print(f"{name}: no change, it has goswarm's lines")
    for message, path, text, mode in writes:
        sh.act(message, _write, path, text, mode)
        if sh.dry and path.name == CONFIG:
            print(text, end="")
    if not held:
        print(f"next: {program.run('redeploy')} (after {program.run('swarm.init')} where the engine is no swarm "
              f"manager yet)")


def plan(root: Path, ports: dict, skip: list, ask: Optional[Callable]) -> list:
    """The services to write, ports settled: printed as they are decided."""
    files, own = read_project(root, (environment.GO_SOURCES.resolve(), (root / DEFAULTS["build"]["dist"]).resolve()))
    proposals, helpers = propose(files, own, root.name)
    if not proposals and not helpers:
        raise PipelineError(f"no Go main package (package main with func main) under {root}: nothing to set up")
    unknown = sorted(set(skip) - {p.name for p in proposals})
    if unknown:
        raise ConfigError(f"--skip {unknown[0]}: no service of that name; init found: "
                          f"{', '.join(p.name for p in proposals)}")
    for directory, service in helpers.items():
        print(f"{directory}/: goes into {service}'s image (its Dockerfile adds its binary): with: [{directory}]")
    proposals = choose_ports([p for p in proposals if p.name not in skip], ports, ask)
    if not proposals:
        raise PipelineError("every Go main was left out: nothing to write")
    for p in publish_ports(proposals):
        print(describe(p))
    return proposals


def describe(p: Proposal) -> str:
    published = f"published on {p.publish} in edge mode" if p.publish else "not published (the port is taken)"
    health = ("the image's own HEALTHCHECK" if p.image_healthcheck else
              f"GET {p.health.value}" if p.health else "its port accepts connections")
    smoke = f"; smoke {p.smoke.value}" if p.smoke and p.publish else ""
    return f"{p.name} ({p.main.dir}/): port {p.port.value} ({p.port.where}), {published}; health: {health}{smoke}"


def _count(proposals: list) -> str:
    return f"{len(proposals)} service{'s' if len(proposals) != 1 else ''}"


def _no_final_newline(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0 and not path.read_bytes().endswith(b"\n")


def _write(path: Path, text: str, mode: str) -> None:
    """mode "x" creates and never overwrites (also when a file appears meanwhile); "a" only adds."""
    try:
        with open(path, mode) as f:
            f.write(text)
    except FileExistsError:
        raise PipelineError(f"{output.shown(path)} appeared meanwhile: left as it is; run init again") from None
    except OSError as e:
        raise PipelineError(f"cannot write {output.shown(path)}: {(e.strerror or str(e)).lower()}") from None
