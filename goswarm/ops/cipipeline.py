"""`goswarm init --ci github|gitlab`: write the CI pipeline (plan/cipipeline.py) into the user's repository,
for the services of its goswarm.yaml. It never overwrites a file."""
from pathlib import Path

from goswarm import __version__, program
from goswarm.errors import ConfigError, PipelineError
from goswarm.plan import cipipeline, output


def kind(value: str) -> str:
    """--ci's value, checked before anything is written."""
    if value not in cipipeline.KINDS:
        raise ConfigError(f"--ci takes {' or '.join(cipipeline.KINDS)}, got {value!r}")
    return value


def module_of(path: Path, root: Path) -> str:
    """The Go module a service builds in (the nearest go.mod at or above its path, inside the project), relative
    to the project."""
    for directory in (path, *path.parents):
        if (directory / "go.mod").is_file() or directory == root:
            break
    return directory.relative_to(root).as_posix() if directory != root else "."


def project_of(cfg) -> cipipeline.Project:
    modules = sorted({module_of(s.path, cfg.root) for s in cfg.services.values() if s.built})
    if not modules:
        raise PipelineError("no service here is built by goswarm (all are image:): there is no Go to test or build")
    gopath = sorted({(n, s.gopath) for n, s in cfg.services.items() if s.built and s.gopath})
    if gopath:
        raise PipelineError(f"{gopath[0][0]} builds in GOPATH mode (gopath: {gopath[0][1]}), and the pipeline "
                            f"tests Go modules: make the project one first (`go mod init {gopath[0][1]}`, then its "
                            f"dependencies at versions that build), then drop gopath: (nothing was written)")
    go_mod = cfg.root / modules[0] / "go.mod"
    go = cipipeline.go_version(go_mod.read_text(errors="replace")) if go_mod.is_file() else "1.26"
    edge = any(s.publish_mode == "edge" and s.protocol == "http" for s in cfg.services.values())
    return cipipeline.Project(__version__, tuple(modules), go, edge=edge)


def write(sh, cfg, which: str) -> None:
    """Write the pipeline for `which` (github or gitlab) where there is none yet."""
    path = cfg.root / cipipeline.PATHS[which]
    if path.exists():
        print(f"{cipipeline.PATHS[which]} exists: left as it is")
        return
    project = project_of(cfg)
    text = cipipeline.render(which, project)
    sh.act(f"write {cipipeline.PATHS[which]} (test {', '.join(project.modules)}; build, push and deploy through "
           f"the release file, with goswarm {project.version})", _write, path, text)
    if sh.dry:
        print(text, end="")
    else:
        print(f"next: set the variables and secrets its first lines name, and commit it; "
              f"{program.run('image.push')} writes the release file the deploy job takes")


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x") as f:
            f.write(text)
    except OSError as e:
        raise PipelineError(f"cannot write {output.shown(path)}: {(e.strerror or str(e)).lower()}") from None
