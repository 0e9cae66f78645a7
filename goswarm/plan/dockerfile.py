"""What a Dockerfile says, read as the builder reads it: its instructions, the files its ADD and COPY lines take
from the build context, and whether it declares its own HEALTHCHECK. Pure: takes the Dockerfile's text.
"""
import json
import posixpath
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Optional

# The blog's binary names: accountservice-linux-amd64, and the arm variants (quotes-linux-arm-v7).
_BINARY = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*?)-(?P<os>linux|darwin|windows|freebsd|netbsd|openbsd)"
                     r"-(?P<arch>amd64|arm64|386|arm(?:-v[5-7])?|ppc64le|s390x|riscv64|mips64le)$")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, COPY, ...
    args: str  # the rest, continuation lines joined
    line: int  # where it starts, from 1


def lines(text: str) -> list:
    """The Dockerfile's lines without comments and blank lines, stripped (as the builder skips them)."""
    stripped = (line.strip() for line in text.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def instructions(text: str) -> list:
    """One Instruction per instruction, a line ending in a backslash continued on the next."""
    found, pending, start = [], "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # also inside a continued instruction, as the builder does
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        found.append(Instruction(keyword.upper(), args.strip(), start))
        pending = ""
    if pending:
        keyword, _, args = pending.strip().partition(" ")
        found.append(Instruction(keyword.upper(), args.strip(), start))
    return found


def _words(args: str) -> list:
    """The words of an ADD or COPY: the JSON form (paths with spaces) or plain words; flags dropped."""
    if args.startswith("["):
        try:
            words = json.loads(args)
        except ValueError:
            words = args.strip("[]").split(",")
        words = [str(w).strip().strip('"') for w in words]
    else:
        words = args.split()
    return [w for w in words if not w.startswith("--")]


def sources(text: str, build_args: Optional[dict] = None) -> list:
    """What each ADD and COPY takes from the build context, in order: context paths and patterns. Not what
    `COPY --from` takes from another stage or image, nor what ADD fetches from a URL. build_args fill in
    `${NAME}` and `$NAME` (goswarm passes BINARY)."""
    found = []
    for step in instructions(text):
        if step.keyword not in ("ADD", "COPY") or "--from" in step.args:
            continue
        for source in _words(step.args)[:-1]:  # the last word is the destination
            for name, value in (build_args or {}).items():
                source = source.replace("${" + name + "}", value).replace("$" + name, value)
            if "://" not in source:
                found.append(source)
    return found


def names(source: str, name: str) -> bool:
    """Does an ADD/COPY source take the context file `name` (by its name, a pattern, or as `.`)?"""
    pattern = source.removeprefix("./").rstrip("/") or "."
    return pattern == "." or fnmatchcase(name, pattern)


def binaries(text: str, build_args: Optional[dict] = None) -> list:
    """(name, os, arch) of each `<name>-<os>-<arch>` file the ADD/COPY lines take: the binaries the
    Dockerfile expects goswarm to put in its build context."""
    found = []
    for source in sources(text, build_args):
        parts = binary(source)
        if parts and parts not in found:
            found.append(parts)
    return found


def binary(source: str) -> Optional[tuple]:
    """(name, os, arch) when an ADD/COPY source is named like a goswarm binary, `<name>-<os>-<arch>`."""
    match = _BINARY.match(source.removeprefix("./"))
    return match.group("name", "os", "arch") if match else None


def binary_name(source: str) -> bool:
    """Is an ADD/COPY source named like a goswarm binary, `<name>-<os>-<arch>`?"""
    return binary(source) is not None


def healthcheck(text: str) -> Optional[str]:
    """The image's own HEALTHCHECK as written (the last one counts, as in the builder), or None when it has
    none or turns it off with HEALTHCHECK NONE."""
    declared = [step.args for step in instructions(text) if step.keyword == "HEALTHCHECK"]
    if not declared or declared[-1].upper() == "NONE":
        return None
    return declared[-1]


def exposed(text: str) -> list:
    """(port, line) of each TCP port the EXPOSE lines name, in order."""
    ports = []
    for step in instructions(text):
        if step.keyword != "EXPOSE":
            continue
        for word in step.args.split():
            number, _, protocol = word.partition("/")
            if number.isdigit() and protocol in ("", "tcp") and int(number) not in (p for p, _ in ports):
                ports.append((int(number), step.line))
    return ports


# --- stages, and how goswarm builds a user's Dockerfile ----------------------------------------------------------

_VARIABLE = re.compile(r"\$(?:\{(\w+)(?::?[-+]([^}]*))?\}|(\w+))")


def substitute(text: str, values: dict) -> str:
    """`$NAME`, `${NAME}` and `${NAME:-default}` filled in as the builder does (unknown names: empty)."""
    def one(match):
        name = match.group(1) or match.group(3)
        value = values.get(name, "")
        if match.group(2) is not None and "+" not in match.group(0) and not value:
            return match.group(2)
        return value
    return _VARIABLE.sub(one, text)


@dataclass(frozen=True)
class Stage:
    base: str  # the FROM image, build args filled in (or an earlier stage's name)
    name: str  # its AS name, else its index
    steps: tuple  # the Instructions after its FROM
    line: int


@dataclass(frozen=True)
class Copy:
    keyword: str  # ADD or COPY
    flags: dict  # --from=builder -> {"from": "builder"}, --chown=... (a flag without a value maps to "")
    sources: tuple
    dest: str


def parse_copy(step: Instruction, values: dict) -> Copy:
    """An ADD or COPY, its build args filled in."""
    if step.args.lstrip().startswith("[") or " [" in step.args:
        flags_part, _, json_part = step.args.partition("[")
        words = flags_part.split() + _words("[" + json_part)
    else:
        words = step.args.split()
    flags = {}
    for word in [w for w in words if w.startswith("--")]:
        key, _, value = word[2:].partition("=")
        flags[key] = substitute(value, values)
    rest = [substitute(w, values) for w in words if not w.startswith("--")]
    return Copy(step.keyword, flags, tuple(rest[:-1]), rest[-1] if rest else "")


def arg_values(step: Instruction, values: dict, given: dict) -> dict:
    """What an ARG line declares: `ARG NAME=default`, the build arg given for it winning."""
    found = {}
    for word in step.args.split():
        name, eq, default = word.partition("=")
        found[name] = given[name] if name in given else (substitute(default.strip('"'), values) if eq else
                                                         values.get(name, ""))
    return found


def stages(text: str, given: Optional[dict] = None) -> tuple:
    """(global ARG lines, Stages): the ARGs before the first FROM fill in the FROM lines."""
    given, values, globals_, found, current = dict(given or {}), {}, [], [], None
    for step in instructions(text):
        if step.keyword == "FROM":
            words = [w for w in step.args.split() if not w.startswith("--")]
            base = substitute(words[0], {**values, **given}) if words else ""
            name = words[2] if len(words) >= 3 and words[1].lower() == "as" else str(len(found))
            current = Stage(base, name, (), step.line)
            found.append(current)
        elif current is None:
            if step.keyword == "ARG":
                values.update(arg_values(step, values, given))
                globals_.append(step)
        else:
            found[-1] = Stage(current.base, current.name, current.steps + (step,), current.line)
            current = found[-1]
    return tuple(globals_), found


_GO_BUILD = re.compile(r"\bgo\s+(?:build|install)\b|\bmake\b")


def compiles_go(stage: Stage) -> bool:
    """Does a build stage compile Go (a golang base image, or a RUN of go build / go install / make)?"""
    image = stage.base.rsplit("/", 1)[-1]
    return image.startswith("golang") or any(s.keyword == "RUN" and _GO_BUILD.search(s.args) for s in stage.steps)


def root_base(stage: Stage, by_name: dict) -> str:
    """The image a stage starts from, through the stages it is built on."""
    seen = set()
    while stage.base in by_name and stage.base not in seen:
        seen.add(stage.base)
        stage = by_name[stage.base]
    return stage.base


def entrypoint_binary(text: str) -> Optional[str]:
    """The file name of what ENTRYPOINT (else CMD) runs, when it is written as JSON: `["/http-echo"]`."""
    for keyword in ("ENTRYPOINT", "CMD"):
        declared = [s.args for s in instructions(text) if s.keyword == keyword]
        if declared and declared[-1].startswith("["):
            words = _words(declared[-1])
            if words:
                return posixpath.basename(words[0])
    return None


def made_by(stage: Stage, paths, values: dict) -> bool:
    """May a build stage have made these paths itself (not had them from its base image)? A stage that does not
    compile Go and runs or copies anything may have; a Go build stage, for paths in its WORKDIR or where it
    copies to (the binary aside)."""
    if not compiles_go(stage):
        return any(s.keyword in ("RUN", "ADD", "COPY") for s in stage.steps)
    places = []
    for step in stage.steps:
        if step.keyword == "WORKDIR":
            places.append(substitute(step.args.strip(), values))
        elif step.keyword in ("ADD", "COPY"):
            dest = parse_copy(step, values).dest
            if dest.startswith("/"):
                places.append(dest)
    places = [p.rstrip("/") or "/" for p in places]
    return any(p == "/" or path == p or path.startswith(p + "/") for path in paths for p in places)


@dataclass(frozen=True)
class Plan:
    """How goswarm builds a service's Dockerfile. "binary": the final stage, with the binary goswarm compiled on
    this host where the Dockerfile puts its own (the stages that compile it are not run); "as written": every
    stage, as the user wrote them."""
    how: str
    dockerfile: str  # the Dockerfile to build
    why: str  # said with the build
    bases: tuple = ()  # the images the build starts from or copies from (not scratch)
    borrowed: tuple = ()  # ((image, path), ...): files the final stage takes from a build stage's base image
    dest: str = ""  # "binary": where the binary goes in the image


def _destination(source: str, dest: str) -> str:
    if dest.endswith("/") or dest in (".", ".."):
        return dest.rstrip("/") + "/" + posixpath.basename(source.rstrip("/"))
    return dest


def _line(step: Instruction) -> str:
    return f"{step.keyword} {step.args}"


def plan(text: str, names: set, context_name: str, given: Optional[dict] = None, as_written: bool = False,
         others: tuple = ()) -> Plan:
    """How to build `text` for a service whose binary goes by `names` (its service name, its directory's, what
    the ENTRYPOINT runs...) and is `context_name` in the build context; a `<name>-<os>-<arch>` file is its binary
    too, unless it is one of `others` (the `with:` binaries). given: the build args (BINARY, TARGETOS,
    TARGETARCH and the service's build_args). Pure."""
    given = dict(given or {})
    globals_, found = stages(text, given)
    by_name = {s.name: s for s in found}
    bases = []

    def need(image):
        if image and image.lower() != "scratch" and image not in by_name and image not in bases:
            bases.append(image)

    for stage in found:
        need(stage.base)
    final = found[-1] if found else None
    if as_written or not final:
        return Plan("as written", text, "build: docker" if as_written else "it has no FROM", tuple(bases))
    for stage in found:
        for step in stage.steps:
            if step.keyword in ("ADD", "COPY"):
                copy = parse_copy(step, given)
                if copy.flags.get("from") and copy.flags["from"] not in by_name:
                    need(copy.flags["from"])
    if any(s.keyword == "RUN" for s in final.steps) or final.base in by_name:
        return Plan("as written", text, "its final stage runs commands or builds on another stage", tuple(bases))
    values = {k: substitute(v, given) for k, v in given.items()}
    for step in globals_:
        values.update(arg_values(step, values, given))
    lines = [_line(s) for s in globals_] + [f"FROM {final.base}"]
    hits, borrowed, used = [], [], [final.base] if final.base.lower() != "scratch" else []
    for step in final.steps:
        if step.keyword == "ARG":
            values.update(arg_values(step, values, given))
        if step.keyword not in ("ADD", "COPY"):
            lines.append(_line(step))
            continue
        copy = parse_copy(step, values)
        source_stage = by_name.get(copy.flags.get("from", ""))
        binary = [s for s in copy.sources if posixpath.basename(s.rstrip("/")) in names or s == context_name
                  or (source_stage is None and binary_name(s) and s.removeprefix("./") not in others)]
        if binary and len(copy.sources) > 1:
            return Plan("as written", text, f"line {step.line} copies the binary with other files", tuple(bases))
        if binary and (source_stage is None or compiles_go(source_stage)):
            dest = _destination(binary[0], copy.dest)
            hits.append(dest)
            as_is = binary[0] in (context_name, "./" + context_name) and "from" not in copy.flags
            lines.append(_line(step) if as_is else f"COPY {context_name} {dest}")
        elif source_stage is not None:
            if made_by(source_stage, copy.sources, values):
                return Plan("as written", text, f"its final stage takes files that stage {source_stage.name} "
                                                f"makes", tuple(bases))
            image = root_base(source_stage, by_name)
            borrowed += [(image, s) for s in copy.sources]
            if image.lower() != "scratch" and image not in used:
                used.append(image)
            flags = " ".join(f"--{k}={v}" if v else f"--{k}" for k, v in copy.flags.items() if k != "from")
            lines.append(" ".join(w for w in ("COPY", f"--from={image}", flags, *copy.sources, copy.dest) if w))
        else:
            if copy.flags.get("from") and copy.flags["from"] not in used:
                used.append(copy.flags["from"])
            lines.append(_line(step))
    if len(hits) != 1:
        why = "it copies no file that is the service's binary" if not hits else "it copies the binary twice"
        return Plan("as written", text, why, tuple(bases))
    why = f"the Dockerfile's final stage only copies the Go binary: compiled on this host, put at {hits[0]}"
    if borrowed:
        why += f"; {', '.join(p for _, p in borrowed)} taken from {', '.join(dict.fromkeys(i for i, _ in borrowed))}"
    rewritten = "\n".join(lines) + "\n"
    original = [*(_line(s) for s in globals_), f"FROM {final.base}", *(_line(s) for s in final.steps)]
    unchanged = len(found) == 1 and lines == original  # the Dockerfile as it is: its images keep their keys
    return Plan("binary", text if unchanged else rewritten, why, tuple(used), tuple(borrowed), hits[0])


# --- .dockerignore ---------------------------------------------------------------------------------------------

def ignore_rules(text: str) -> list:
    """(regex, excluded) per .dockerignore line, in order: `!` lines take files back."""
    rules = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip()).lstrip("/")
        regex = ""
        i = 0
        while i < len(pattern):
            if pattern.startswith("**", i):
                regex += ".*"
                i += 2
                if pattern.startswith("/", i):
                    regex, i = regex + "(?:/|)", i + 1
                continue
            ch = pattern[i]
            regex += "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch)
            i += 1
        rules.append((re.compile(regex + "(?:/.*)?$"), not keep))
    return rules


def ignored(name: str, rules: list) -> bool:
    """Is a context path (posix, relative) left out by the .dockerignore rules? The last rule that matches wins."""
    verdict = False
    for regex, excluded in rules:
        if regex.match(name):
            verdict = excluded
    return verdict
