"""Target platforms (`os/arch[/variant]`) and what they mean for `go build`. Pure."""
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Optional

from goswarm import program
from goswarm.errors import PipelineError


@dataclass(frozen=True, order=True)
class Platform:
    os: str
    arch: str
    variant: Optional[str] = None

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.arch, self.variant) if p)

    @property
    def go_env(self) -> dict:
        env = {"CGO_ENABLED": "0", "GOOS": self.os, "GOARCH": self.arch}
        if self.arch == "arm" and self.variant:
            env["GOARM"] = self.variant.lstrip("v")
        return env

    @property
    def suffix(self) -> str:
        """The blog's artifact naming: accountservice-linux-amd64, plus the variant (linux-arm-v7)."""
        return "-".join(p for p in (self.os, self.arch, self.variant) if p)


def parse(text: str) -> Platform:
    parts = text.strip().lower().split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise PipelineError(f"platform {text!r} is not os/arch[/variant], e.g. linux/amd64 or linux/arm/v7")
    return Platform(*parts)


def parse_list(value) -> list:
    """A comma-separated string or a list, de-duplicated, order kept."""
    items = value.split(",") if isinstance(value, str) else list(value or [])
    platforms = []
    for item in items:
        if str(item).strip():
            p = parse(str(item))
            if p not in platforms:
                platforms.append(p)
    if not platforms:
        raise PipelineError("no platform given; use e.g. --platform linux/amd64")
    return platforms


def parse_dist_list(output: str) -> set:
    """`go tool dist list` prints one os/arch per line."""
    return {line.strip() for line in output.splitlines() if "/" in line}


def validate(platforms: Iterable[Platform], supported: set) -> None:
    for p in platforms:
        if f"{p.os}/{p.arch}" not in supported:
            raise PipelineError(f"unknown platform {str(p)!r}; Go supports: {', '.join(sorted(supported))}")
        if p.variant and not (p.arch == "arm" and p.variant in ("v5", "v6", "v7")):
            raise PipelineError(f"unknown variant in {str(p)!r}; only linux/arm takes one of v5, v6, v7")


def artifact_name(service: str, platform: Platform) -> str:
    return f"{service}-{platform.suffix}"


def engine_platform(version: dict) -> Platform:
    """The platform an engine runs images for, from its /version answer."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(version.get("Arch", ""), version.get("Arch", ""))
    return Platform(version.get("Os", "linux"), arch)


def for_engine(platforms: Iterable[Platform], engine: Platform) -> Platform:
    """Which built platform an engine can run; ARM variants match their arch."""
    for p in platforms:
        if (p.os, p.arch) == (engine.os, engine.arch):
            return p
    built = ", ".join(str(p) for p in platforms)
    raise PipelineError(f"the engine runs {engine} but the build platforms are {built}; "
                        f"add {engine} to build.platforms")


def deployable(built: Iterable[Platform], nodes: Iterable[Platform]) -> None:
    """Before a deploy compiles anything: every platform must be one the swarm's nodes run, and every node's
    platform must be built (a compile takes a while; finding this after it wastes that time)."""
    built, nodes = list(built), set(nodes)
    systems = {n.os for n in nodes}
    for p in built:
        if p.os not in systems:
            alone = program.run(f"build --platform {p}")
            raise PipelineError(f"build.platforms has {p}, but the swarm's nodes run {', '.join(sorted(systems))}; "
                                f"remove it ({alone} still builds that binary on its own)")
    for node in sorted(nodes):
        if not any((p.os, p.arch) == (node.os, node.arch) for p in built):
            raise PipelineError(f"a swarm node runs {node}, which build.platforms "
                                f"({', '.join(map(str, built))}) does not include; add {node}")
