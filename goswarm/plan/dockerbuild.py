"""How goswarm builds a user's Dockerfile, read stage by stage: its final stage with the Go binary goswarm compiled
on this host, where that stage only copies the binary, else every stage as written; and the base images the build
needs. Pure: takes the Dockerfile's text and the build args.
"""
import posixpath
import re
from dataclasses import dataclass
from typing import Optional

from goswarm.plan.dockerfile import Instruction, binary_name, instructions, split_words

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
        words = flags_part.split() + split_words("[" + json_part)
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
