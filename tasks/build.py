"""build: cross-compile the Go services."""
from invoke import Collection

from goswarm.tasks.base import settings_of, task


@task(default=True, help={
    "service": "Only these services (comma-separated names from the config; default: all).",
    "platform": "os/arch[/variant] list, e.g. linux/amd64,linux/arm64,linux/arm/v7 (default: build.platforms).",
    "force": "Compile even when the sources, Go and flags are unchanged.",
    "json": "Progress on stderr, and on stdout JSON: each binary compiled (service, platform, path).",
})
def build(c, service=None, platform=None, force=False, json=False):
    """Cross-compile the Go services (CGO_ENABLED=0) into dist/<service>-<os>-<arch>, when their sources changed."""
    from goswarm.io import terminal
    from goswarm.ops import build as builds
    from goswarm.plan import config, output, platforms, report

    sh, cfg = settings_of(c)
    targets = platforms.parse_list(platform) if platform else None
    with terminal.progress_to_stderr(json):
        compiled = builds.run(sh, cfg, config.select(cfg.services, service), targets, force)
        for artifact in compiled:
            print(f"{'[dry] would build' if sh.dry else 'built'} {output.shown(artifact.path)}")
    if json:
        print(report.dumps({"compiled": [{"service": a.service.name, "platform": str(a.platform),
                                          "path": output.shown(a.path)} for a in compiled]}))


ns = Collection("build")
ns.add_task(build)
