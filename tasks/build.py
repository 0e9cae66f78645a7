"""build: cross-compile every Go service into static binaries, dist/<service>-<os>-<arch>."""
import shlex
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from invoke import Collection

from tasks import config, output, platforms, settings
from tasks.errors import PipelineError, task

DEFAULTS = {"build": {"platforms": "linux/amd64", "dist": "dist", "ldflags": "-s -w"}}
GO_MISSING = "Go is not installed (no `go` on PATH): `apt-get install golang-go`, or see https://go.dev/doc/install"


@dataclass(frozen=True)
class Artifact:
    service: config.Service
    platform: platforms.Platform
    path: Path


def plan(services, targets, dist: Path) -> list:
    """One artifact per service and platform. Pure."""
    return [Artifact(s, p, dist / platforms.artifact_name(s.name, p)) for s in services for p in targets]


def go_command(artifact: Artifact, ldflags: str) -> str:
    """The `go build` line, runnable as shown (so --echo/--dry print something a user can paste)."""
    env = " ".join(f"{k}={v}" for k, v in artifact.platform.go_env.items())
    return (
        f"cd {shlex.quote(str(artifact.service.path))} && {env} go build -trimpath -buildvcs=false"
        f" -ldflags={shlex.quote(ldflags)} -o {shlex.quote(str(artifact.path))} {shlex.quote(artifact.service.main)}"
    )


def supported_platforms(c) -> set:
    if not shutil.which("go"):
        raise PipelineError(GO_MISSING)
    result = c.run("go tool dist list", hide=True, warn=True, dry=False, echo=False)
    if not result.ok:
        raise PipelineError(f"`go tool dist list` failed: {result.stderr.strip()[:200]}")
    return platforms.parse_dist_list(result.stdout)


def compile_all(c, artifacts, ldflags: str) -> None:
    """Build in parallel; on any compile error, raise with the compiler's own message."""
    for artifact in artifacts:
        if not artifact.service.path.is_dir():
            raise PipelineError(f"services.{artifact.service.name}.path: {artifact.service.path} is not a directory")
    if not output.is_dry(c):
        artifacts[0].path.parent.mkdir(parents=True, exist_ok=True)

    def one(artifact):
        return artifact, c.run(go_command(artifact, ldflags), hide=True, warn=True)

    with ThreadPoolExecutor(max_workers=max(1, len(artifacts))) as pool:
        results = list(pool.map(one, artifacts))
    failed = [(a, r) for a, r in results if not r.ok]
    for artifact, result in failed:
        print(f"--- go build {artifact.service.name} ({artifact.platform}) failed:\n{result.stderr.rstrip()}")
    if failed:
        names = ", ".join(sorted({a.service.name for a, _ in failed}))
        raise PipelineError(f"compile failed for {names}; nothing was deployed")


def run(c, service=None, platform=None) -> list:
    """Library entry: validate, then compile; returns the artifacts."""
    cfg = settings.load(c)
    targets = platforms.parse_list(platform) if platform else cfg.platforms
    chosen = config.select(cfg.services, service)
    platforms.validate(targets, supported_platforms(c))
    artifacts = plan(chosen, targets, cfg.dist)
    compile_all(c, artifacts, str(c.config.build.ldflags))
    return artifacts


@task(
    default=True,
    help={
        "service": "Only these services (comma-separated names from invoke.yaml).",
        "platform": "os/arch[/variant] list, e.g. linux/amd64,linux/arm64,linux/arm/v7 (default: build.platforms).",
    },
)
def build(c, service=None, platform=None):
    """Cross-compile the Go services (CGO_ENABLED=0) into dist/<service>-<os>-<arch>."""
    for artifact in run(c, service, platform):
        print(f"built {output.shown(artifact.path)}")


ns = Collection("build")
ns.add_task(build)
ns.configure(DEFAULTS)
