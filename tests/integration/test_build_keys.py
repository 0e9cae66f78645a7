"""Build keys from the module graph, with the real go command: each stale build of issue 16 (an edit in a
sibling module reached through `replace`, an edit in an internal package when `path` is a package directory,
a build tag in GOFLAGS) compiles again, and its binary says so; an unchanged tree asks Go nothing."""
import subprocess
from pathlib import Path

import invoke

from goswarm.io.shell import Shell
from goswarm.ops import build
from goswarm.plan import config, platforms

AMD64 = platforms.Platform("linux", "amd64")
MAIN = 'package main\n\nimport (\n\t"fmt"\n\t"{imp}"\n)\n\nfunc main() {{ fmt.Println({call}) }}\n'


class CountingShell(Shell):
    """A real Shell that counts the go commands it starts."""

    def __init__(self):
        super().__init__(invoke.Context().run)
        object.__setattr__(self, "commands", [])

    def read(self, command, **kwargs):
        self.commands.append(command)
        return super().read(command, **kwargs)

    def run(self, command, **kwargs):
        self.commands.append(command)
        return super().run(command, **kwargs)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def compile_and_run(tmp_path: Path, path: Path, main: str = "."):
    """compile_all once, as redeploy's build stage does; (compiled?, what the binary prints, go commands)."""
    service = config.Service("svc", path, 8080, main=main)
    artifact = build.Artifact(service, AMD64, tmp_path / "dist" / "svc-linux-amd64")
    sh = CountingShell()
    version = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=True).stdout.strip()
    compiled = build.compile_all(sh, [artifact], "-s -w", version)
    said = subprocess.run([str(artifact.path)], capture_output=True, text=True, check=True).stdout.strip()
    return bool(compiled), said, sh.commands


def test_an_edit_in_a_sibling_module_through_replace_rebuilds(tmp_path):
    write(tmp_path / "shared/go.mod", "module example.com/shared\n\ngo 1.21\n")
    write(tmp_path / "shared/shared.go", 'package shared\n\nfunc Message() string { return "one" }\n')
    write(tmp_path / "svc/go.mod", "module example.com/svc\n\ngo 1.21\n\nrequire example.com/shared v0.0.0\n\n"
                                   "replace example.com/shared => ../shared\n")
    write(tmp_path / "svc/main.go", MAIN.format(imp="example.com/shared", call="shared.Message()"))
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (True, "one")
    compiled, said, commands = compile_and_run(tmp_path, tmp_path / "svc")
    assert (compiled, said, commands) == (False, "one", [])  # nothing changed: no go command at all
    write(tmp_path / "shared/shared.go", 'package shared\n\nfunc Message() string { return "two" }\n')
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (True, "two")


def test_an_edit_in_an_internal_package_rebuilds_when_path_is_a_package_directory(tmp_path):
    write(tmp_path / "app/go.mod", "module example.com/app\n\ngo 1.21\n")
    write(tmp_path / "app/internal/msg/msg.go", 'package msg\n\nfunc Text() string { return "one" }\n')
    write(tmp_path / "app/cmd/api/main.go", MAIN.format(imp="example.com/app/internal/msg", call="msg.Text()"))
    assert compile_and_run(tmp_path, tmp_path / "app/cmd/api")[:2] == (True, "one")
    assert compile_and_run(tmp_path, tmp_path / "app/cmd/api")[:2] == (False, "one")
    write(tmp_path / "app/internal/msg/msg.go", 'package msg\n\nfunc Text() string { return "two" }\n')
    assert compile_and_run(tmp_path, tmp_path / "app/cmd/api")[:2] == (True, "two")


def test_a_build_tag_in_goflags_rebuilds(tmp_path, monkeypatch):
    write(tmp_path / "svc/go.mod", "module example.com/svc\n\ngo 1.21\n")
    write(tmp_path / "svc/main.go", 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println(flavour) }\n')
    write(tmp_path / "svc/plain.go", '//go:build !premium\n\npackage main\n\nconst flavour = "plain"\n')
    write(tmp_path / "svc/premium.go", '//go:build premium\n\npackage main\n\nconst flavour = "premium"\n')
    monkeypatch.delenv("GOFLAGS", raising=False)
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (True, "plain")
    monkeypatch.setenv("GOFLAGS", "-tags=premium")
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (True, "premium")
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (False, "premium")


def test_an_embedded_file_and_a_new_file_in_the_package_rebuild(tmp_path):
    write(tmp_path / "svc/go.mod", "module example.com/svc\n\ngo 1.21\n")
    write(tmp_path / "svc/main.go", 'package main\n\nimport (\n\t_ "embed"\n\t"fmt"\n)\n\n//go:embed web/text.txt\n'
                                    'var text string\n\nfunc main() { fmt.Println(text + suffix) }\n')
    write(tmp_path / "svc/suffix.go", 'package main\n\nconst suffix = ""\n')
    write(tmp_path / "svc/web/text.txt", "one")
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (True, "one")
    write(tmp_path / "svc/web/text.txt", "two")
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (True, "two")
    (tmp_path / "svc/suffix.go").unlink()
    write(tmp_path / "svc/suffix2.go", 'package main\n\nconst suffix = "!"\n')
    assert compile_and_run(tmp_path, tmp_path / "svc")[:2] == (True, "two!")
