"""`goswarm init`: a commented goswarm.yaml for the Go main packages of a project, .env.example lines and a
.gitignore stanza. It never overwrites a file: it writes goswarm.yaml only where there is no config yet, and
only adds lines to the other two.

Decide, then act: the project's files are read, the proposal is made from their texts (plan/proposal.py),
ports the code does not show come from --port or are asked for at a terminal, then everything is written.
"""
import os
import re
from pathlib import Path
from typing import Callable, Optional

from goswarm import program
from goswarm.errors import ConfigError, PipelineError
from goswarm.io import environment
from goswarm.plan import config, gosource, output
from goswarm.plan.proposal import (
    Proposal,
    building,
    describe,
    env_example_addition,
    gitignore_addition,
    propose,
    publish_ports,
    render,
)
from goswarm.plan.proposal import slug as proposal_slug
from goswarm.settings import DEFAULTS

CONFIG = "goswarm.yaml"
ASKS = 3  # answers we take to one question before giving up


def _pairs(values):
    """The NAME=VALUE items of a repeatable, comma-separated flag: (the item, NAME, whether it had '=', VALUE as
    given)."""
    for value in values or []:
        for item in (part.strip() for part in str(value).split(",")):
            if item:
                name, sep, rest = item.partition("=")
                yield item, name.strip(), bool(sep), rest


def parse_ports(values, flag: str = "--port") -> dict:
    """--port accountservice=6767 (repeatable, or comma-separated) as {name: port}; --publish alike."""
    ports = {}
    for item, name, sep, number in _pairs(values):
        if not sep or not name or not number.isdigit() or not 1 <= int(number) <= 65535:
            raise ConfigError(f"{flag} takes NAME=PORT (e.g. {flag} accountservice=6767), got {item!r}")
        ports[name] = int(number)
    return ports


def parse_names(values) -> dict:
    """--name hello=my-hello (repeatable, or comma-separated) as {name init found: the name to give it}."""
    names = {}
    for item, old, sep, new in _pairs(values):
        if not sep or not old or not config.valid_name(new.strip()):
            raise ConfigError(f"--name takes NAME=NEW with a service name NEW (a-z, 0-9, '-', '_', '.'; not "
                              f"ending in -edge), e.g. --name hello=shop-hello; got {item!r}")
        names[old] = new.strip()
    return names


def no_module(root: Path, files: dict, proposals: list) -> Optional[str]:
    """One line when a main is in no Go module: what is missing and what to run; None when all are in one."""
    lost = [p.main.dir for p in proposals if p.main.module is None]
    if not lost:
        return None
    path = gosource.module_path_guess(files) or "example.com/" + proposal_slug(root.name)
    vendor = " && go mod vendor" if (root / "vendor").is_dir() else ""
    where = ", ".join(f"{d}/" for d in lost)
    return (f"{where} {'is' if len(lost) == 1 else 'are'} in no Go module (no go.mod at or above "
            f"{'it' if len(lost) == 1 else 'them'}), and goswarm builds with modules: make the project one, as its "
            f"users would, with `cd {output.shown(root)} && go mod init {path} && go mod tidy{vendor}`, then run "
            f"{program.run('init')} again")


def gopath_mode(root: Path, files: dict, proposals: list) -> bool:
    """A project of the GOPATH days (no go.mod, its dependencies in vendor/) is built as it was written: in GOPATH
    mode under the import path its code uses. Its mains get the project as their module, and `gopath:`. False
    when it shows no vendor/ or no import path (then it must become a module)."""
    path = gosource.module_path_guess(files)
    if not (root / "vendor").is_dir() or not path:
        return False
    lost = [p for p in proposals if p.main.module is None]
    for proposal in lost:
        proposal.main, proposal.gopath = gosource.Main(proposal.main.dir, "."), path
    print(f"{', '.join(f'{p.main.dir}/' for p in lost)}: in no Go module, with a vendor/: built in GOPATH mode as "
          f"{path} (gopath: {path}), the vendored packages as they are; `go mod init {path}` would make it a module")
    return True


def names_list(value) -> list:
    return [n.strip() for n in str(value or "").split(",") if n.strip()]


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
                files[name if relative == "." else f"{relative}/{name}"] = (here / name).read_text(errors="replace")
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

def init(sh, root: Path, ports=None, skip=None, ask: Optional[Callable] = None, publish=None, names=None,
         trial: bool = False) -> None:
    """Propose, settle the ports, then write goswarm.yaml (where no config is), .env.example and .gitignore.
    publish: NAME=PORT, the published port where it differs from the service's; names: NAME=NEW, another name.
    trial: build the images and try the health and smoke paths first (ops/initproof.py); root must then be
    the project root that settings read."""
    writes = []
    held = existing_config(root)
    if held:
        print(held)
    else:
        proposals = plan(root, parse_ports(ports), names_list(skip), ask, parse_ports(publish, "--publish"),
                         parse_names(names))
        if trial:
            from goswarm.ops import initproof

            initproof.settle(sh, lambda: _settings_of(proposals, root), proposals, ask)
        text = render(proposals, root.name, DEFAULTS)
        writes.append((f"write {CONFIG} ({_count(proposals)}: {', '.join(p.name for p in proposals)})",
                       root / CONFIG, text, "x"))
        writes += schema_file(root)
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


def schema_file(root: Path) -> list:
    """goswarm.yaml's JSON Schema next to it, which its first line names for editors; one there is kept."""
    from goswarm import settings
    from goswarm.plan import schema

    if (root / schema.FILE).exists():
        print(f"{schema.FILE}: left as it is ({program.run('schema')} prints this goswarm's)")
        return []
    text = schema.text(settings.DEFAULTS, settings.top_level_keys())
    return [(f"write {schema.FILE} (for editors: {program.run('schema')} prints it)", root / schema.FILE, text, "x")]


def plan(root: Path, ports: dict, skip: list, ask: Optional[Callable], publish: dict = None,
         names: dict = None) -> list:
    """The services to write, ports settled: printed as they are decided."""
    files, own = read_project(root, (environment.GO_SOURCES.resolve(), (root / DEFAULTS["build"]["dist"]).resolve()))
    proposals, helpers = propose(files, own, root.name)
    if not proposals and not helpers:
        raise PipelineError(f"no Go main package (package main with func main) under {root}: nothing to set up")
    missing = no_module(root, files, [p for p in proposals if p.serves])
    if missing and not gopath_mode(root, files, proposals):
        raise PipelineError(missing)
    for option, given in (("--name", names or {}), ("--publish", publish or {})):
        unknown = sorted(set(given) - {p.name for p in proposals} - (set((names or {}).values()) if option ==
                                                                      "--publish" else set()))
        if unknown:
            raise ConfigError(f"{option} {unknown[0]}: no service of that name; init found: "
                              f"{', '.join(p.name for p in proposals)}")
    for proposal in proposals:
        proposal.name = (names or {}).get(proposal.name, proposal.name)
    publish = {(names or {}).get(k, k): v for k, v in (publish or {}).items()}
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
        p.publish = publish.get(p.name, p.publish)
        print(describe(p))
    return proposals


def _settings_of(proposals: list, root: Path):
    """The Settings of the config init would write, as far as building the images goes."""
    from goswarm import settings

    return settings.read(building(proposals, root.name))


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
