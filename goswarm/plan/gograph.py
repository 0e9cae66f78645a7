"""What a Go binary is compiled from, as the go command sees it: `go list -deps` of the main package, with the
build's own environment (GOFLAGS and its tags, CGO_ENABLED, GOOS, GOARCH...). Pure: builds the command and
reads its output.

The build key covers the directories of every package outside the standard library and the module cache (the
service's module, other local modules reached through `replace` or go.work, vendored code), the files they
embed, and each module's go.mod, go.sum and go.work. What the module cache holds never changes under its
version, which go.sum pins; the standard library goes with the Go version.
"""
import json
import posixpath
from dataclasses import dataclass

# The variables that change what `go build` compiles, besides the platform's own (GOOS, GOARCH, CGO_ENABLED...).
GO_VARIABLES = ("GO111MODULE", "GOFLAGS", "GOEXPERIMENT", "GOAMD64", "GOARM", "GOARM64", "GO386", "GOWORK",
                "GOTOOLCHAIN", "CGO_CFLAGS", "CGO_LDFLAGS", "GOPATH", "GOMODCACHE", "GOPROXY", "GONOSUMDB", "GOPRIVATE")
_SEP = "\x1f"  # between fields of one line of go list's output: no path holds it
# One line per package that is not the standard library's: its directory, module cache or not, its embeds,
# and its module's go.mod (the replacement's, for a replaced module).
FORMAT = ('{{if not .Standard}}{{.Dir}}' + _SEP + '{{with .Module}}{{.GoMod}}{{end}}' + _SEP +
          '{{join .EmbedFiles "' + _SEP + '"}}{{end}}')


@dataclass(frozen=True)
class Graph:
    """The files a binary is compiled from, outside the module cache and the standard library."""
    dirs: tuple  # package directories: each one's files count (a new file may join the package)
    files: tuple  # embedded files, go.mod, go.sum, go.work (and go.work.sum), vendor/modules.txt

    def to_json(self) -> dict:
        return {"dirs": list(self.dirs), "files": list(self.files)}

    @classmethod
    def from_json(cls, data: dict) -> "Graph":
        return cls(tuple(data["dirs"]), tuple(data["files"]))


def command(main: str) -> str:
    """The `go list` line (run in the module's directory, with the build's environment)."""
    return f"go list -deps -f '{FORMAT}' {main} && go env -json GOWORK GOMODCACHE"


def parse(stdout: str) -> Graph:
    """The Graph from command()'s output: the package lines, then GOWORK and GOMODCACHE as JSON."""
    listed, brace, rest = stdout.rpartition("\n{")
    settings = json.loads(brace.strip() + rest) if brace else {}
    gowork = settings.get("GOWORK", "") if settings.get("GOWORK") != "off" else ""
    modcache = settings.get("GOMODCACHE", "")
    packages = [line for line in listed.splitlines() if line.strip()]
    dirs, files = set(), set()
    cache = modcache.rstrip("/") + "/"
    for line in packages:
        directory, gomod, *embeds = line.split(_SEP)
        if not directory or (modcache and directory.startswith(cache)):
            continue
        dirs.add(directory)
        files.update(posixpath.join(directory, e) for e in embeds if e)
        if gomod and not (modcache and gomod.startswith(cache)):
            module = posixpath.dirname(gomod)
            files.update([gomod, posixpath.join(module, "go.sum"), posixpath.join(module, "vendor", "modules.txt")])
    if gowork:
        files.update([gowork, gowork + ".sum"])
    return Graph(tuple(sorted(dirs)), tuple(sorted(files)))


def environment(environ: dict, go_env: dict) -> dict:
    """The variables of the build that change what it compiles: the platform's (go_env) over the process's."""
    chosen = {k: environ[k] for k in GO_VARIABLES if environ.get(k)}
    return {**chosen, **go_env}


def env_key(variables: dict, goenv_file: str, go_version: str, flags: str, ldflags: str, main: str) -> str:
    """Everything but the files, as one string: `go env -w` settings (the GOENV file's text) count too."""
    return json.dumps([variables, goenv_file, go_version, flags, ldflags, main], sort_keys=True)
