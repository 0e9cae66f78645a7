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


def split_words(args: str) -> list:
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
        for source in split_words(step.args)[:-1]:  # the last word is the destination
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


def entrypoint_binary(text: str) -> Optional[str]:
    """The file name of what ENTRYPOINT (else CMD) runs, when it is written as JSON: `["/http-echo"]`."""
    for keyword in ("ENTRYPOINT", "CMD"):
        declared = [s.args for s in instructions(text) if s.keyword == keyword]
        if declared and declared[-1].startswith("["):
            words = split_words(declared[-1])
            if words:
                return posixpath.basename(words[0])
    return None



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
