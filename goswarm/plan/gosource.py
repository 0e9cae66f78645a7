"""What Go source says about a service, without running Go: its main packages, the port it listens on, and the
HTTP routes it serves. Pure: takes file texts keyed by their path relative to the project (posix, "a/b.go").

These are guesses from literals, for `goswarm init` to propose (and say where each came from); a port built
at run time, from a constant or a config file, is not guessed, and init asks for it instead.
"""
import posixpath
import re
from dataclasses import dataclass
from typing import Optional

# Directories the go tool itself ignores, plus vendored code: none of it is a service.
IGNORED_DIRS = ("vendor", "testdata", "node_modules")


@dataclass(frozen=True)
class Main:
    dir: str  # the package's directory, relative to the project ("." for the project itself)
    module: Optional[str]  # the directory of the go.mod it builds in; None when there is none

    @property
    def package(self) -> str:
        """The package to `go build` from the module's directory: "." or "./cmd/api"."""
        if self.module is None or self.module == self.dir:
            return "."
        return "./" + posixpath.relpath(self.dir, self.module)


@dataclass(frozen=True)
class Found:
    """A value read from the source, with where: `port 6767 (ListenAndServe(":6767") in main.go:12)`."""
    value: object
    file: str
    line: int
    text: str  # the code it was read from, shortened

    @property
    def where(self) -> str:
        return f"{self.text} in {self.file}:{self.line}" if self.file else self.text


def ignored(path: str) -> bool:
    """Is a file in a directory `go build ./...` would skip (hidden, _underscore, vendor, testdata)?"""
    parts = path.split("/")[:-1]
    return any(p.startswith((".", "_")) or p in IGNORED_DIRS for p in parts)


def without_comments(text: str) -> str:
    """Go source with its comments blanked out, strings and line numbers kept (`"http://x"` is no comment)."""
    out, i, n = [], 0, len(text)
    while i < n:
        two = text[i:i + 2]
        if two == "//":
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif two == "/*":
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(c if c == "\n" else " " for c in text[i:end]))
            i = end
        elif text[i] in "\"'`":
            end = _string_end(text, i)
            out.append(text[i:end])
            i = end
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _string_end(text: str, start: int) -> int:
    """Just past the string or rune literal that starts at `start` (raw strings have no escapes)."""
    quote, i = text[start], start + 1
    while i < len(text):
        if text[i] == "\\" and quote != "`":
            i += 2
            continue
        if text[i] == quote or (text[i] == "\n" and quote != "`"):
            return i + 1
        i += 1
    return len(text)


_PACKAGE = re.compile(r"^\s*package\s+(\w+)", re.M)
_FUNC_MAIN = re.compile(r"^func\s+main\s*\(\s*\)", re.M)
_IGNORE_TAG = re.compile(r"^//\s*(?:go:build|\+build)\s+ignore\b", re.M)


def package_of(text: str) -> Optional[str]:
    """The package a file declares; None for a file the build skips (`//go:build ignore`)."""
    if _IGNORE_TAG.search(text.split("package", 1)[0]):
        return None
    found = _PACKAGE.search(without_comments(text))
    return found.group(1) if found else None


def go_files(files: dict, directory: str) -> dict:
    """The package's own .go files in `directory` (not its tests, not subdirectories)."""
    return {path: text for path, text in files.items()
            if path.endswith(".go") and not path.endswith("_test.go") and posixpath.dirname(path) == _dir(directory)}


def _dir(directory: str) -> str:
    return "" if directory in (".", "") else directory


def is_main(files: dict) -> bool:
    """Do these files (one directory's) make a command: `package main` with a `func main()`?"""
    mains = [text for text in files.values() if package_of(text) == "main"]
    return any(_FUNC_MAIN.search(without_comments(text)) for text in mains)


def mains(files: dict) -> list:
    """Every main package among `files` (paths to texts; go.mod files name the modules), sorted by directory."""
    directories = sorted({posixpath.dirname(p) for p in files if p.endswith(".go") and not ignored(p)})
    modules = {posixpath.dirname(p) for p in files if posixpath.basename(p) == "go.mod" and not ignored(p)}
    return [Main(d or ".", module_of(d, modules)) for d in directories if is_main(go_files(files, d))]


def module_of(directory: str, modules: set) -> Optional[str]:
    """The nearest directory at or above `directory` that holds a go.mod."""
    current = directory
    while True:
        if current in modules:
            return current or "."
        if not current:
            return None
        current = posixpath.dirname(current)


def sources_of(main: Main, files: dict, mains: list) -> dict:
    """The Go files that make up `main` as far as this scan looks, tests left out: its whole module when it is
    the module's only main (the server may live in a package beside it), else its directory and the packages
    below it that are not other mains'."""
    modules = {posixpath.dirname(p) for p in files if posixpath.basename(p) == "go.mod"}
    alone = main.module is not None and [m.module for m in mains].count(main.module) == 1
    top = _dir(main.module if alone else main.dir)
    nested = [_dir(m.dir) + "/" for m in mains if m.dir != main.dir and _below(m.dir, main.dir)]
    return {path: text for path, text in files.items()
            if path.endswith(".go") and not path.endswith("_test.go") and not ignored(path)
            and (not top or path.startswith(top + "/")) and not any(path.startswith(n) for n in nested)
            and module_of(posixpath.dirname(path), modules) == main.module}


def with_imports(main: Main, files: dict, own: dict) -> dict:
    """`own` (sources_of) and the files of the packages of its module that they import, over and over: the routes
    of a server built in pkg/api live there, not in cmd/app."""
    if main.module is None:
        return own
    module = _module_path(files.get(posixpath.join(_dir(main.module), "go.mod"), ""))
    if not module:
        return own
    found, todo = dict(own), list(own)
    seen = {posixpath.dirname(p) for p in own}
    while todo:
        text = without_comments(found[todo.pop()])
        for block in re.findall(r"^import\s*(?:\(([^)]*)\)|(\S.*)$)", text, re.M):
            for imported in _IMPORT.findall(" ".join(block)):
                if not imported.startswith(module + "/"):
                    continue
                directory = posixpath.join(_dir(main.module), imported[len(module) + 1:]).lstrip("/")
                if directory in seen:
                    continue
                seen.add(directory)
                for path, code in go_files(files, directory).items():
                    if not ignored(path):
                        found[path] = code
                        todo.append(path)
    return found


def _module_path(go_mod: str) -> str:
    match = re.search(r"^module\s+(\S+)", go_mod, re.M)
    return match.group(1).strip('"') if match else ""


def _below(directory: str, parent: str) -> bool:
    return parent in (".", "") or directory.startswith(parent + "/")


_SERVES = re.compile(r"\b(?:ListenAndServe\w*|Listen(?:TCP|Unix|Packet)?|Serve\w*)\(|\bhttp\.Server\s*\{|\.Run\(\s*\""
                     r"|\.Start(?:TLS)?\(\s*\"")  # echo's e.Start(":1323")
# gin's r.Run() with no address: $PORT, else :8080
_GIN_RUN = re.compile(r"\.Run\(\s*\)")
_GIN = '"github.com/gin-gonic/gin"'


def serves(files: dict) -> bool:
    """Does this code listen for connections at all (a server, not a command-line tool or a client)?"""
    return any(_SERVES.search(code) or _GIN in code and _GIN_RUN.search(code)
               for code in map(without_comments, files.values()))


# --- ports -------------------------------------------------------------------

_ADDRESS = r'"[\w.\-\[\]:]*:(\d{1,5})"'  # ":6767", "0.0.0.0:6767", "localhost:6767", "[::]:6767"
_PORT_PATTERNS = (
    # http.ListenAndServe(":6767", ...), net.Listen("tcp", ":6767"), StartWebServer(":6767"), r.Run(":8080"),
    # e.Start(":1323")
    re.compile(r'\b(?:\w*(?:Listen|Serve)\w*|Run|Start(?:TLS)?)\(\s*(?:"tcp[46]?"\s*,\s*)?' + _ADDRESS),
    # http.Server{Addr: ":6767"}
    re.compile(r"\bAddr\s*:\s*" + _ADDRESS),
    # the blog's service.StartWebServer("6767"): a port alone, passed to something that serves
    re.compile(r'\b\w*(?:Listen|Serve)\w*\(\s*"?(\d{2,5})"?\s*[,)]'),
    # getenv("PORT", "6767"), cmp.Or(os.Getenv("PORT"), "6767")
    re.compile(r'\(\s*(?:"\w*PORT\w*"|os\.Getenv\(\s*"\w*PORT\w*"\s*\))\s*,\s*"(?:[\w.]*:)?(\d{1,5})"\s*\)'),
    # flag.Int("port", 6767, ...), flag.StringVar(&addr, "addr", ":6767", ...), a FlagSet's fs.String("http.addr"...
    re.compile(r'\b\w+\.(?:Int|Uint|String)(?:Var)?\(\s*(?:&[\w.]+\s*,\s*)?"(?:[\w.-]*[-_.])?(?:port|addr|listen)"'
               r'\s*,\s*"?(?:[\w.]*:)?(\d{1,5})"?\s*,', re.I),
    # a flag of any name whose default is an address: flag.String("http", "0.0.0.0:80", ...)
    re.compile(r'\b\w+\.String(?:Var)?\(\s*(?:&[\w.]+\s*,\s*)?"[\w.-]+"\s*,\s*' + _ADDRESS + r'\s*,'),
)
# envString("PORT", defaultPort) with `defaultPort = "8080"` (a const) in the same file
_GETENV_CONST = re.compile(r'\(\s*"\w*PORT\w*"\s*,\s*([A-Za-z_]\w*)\s*\)')
# A listener for health checks beside the service's own: a flag or variable named so, with an address default.
_HEALTH_LISTENER = re.compile(r'\b\w+\.String(?:Var)?\(\s*(?:&[\w.]+\s*,\s*)?"[\w.-]*(?:health|ready|probe)'
                              r'[\w.-]*"\s*,\s*' + _ADDRESS, re.I)
# port := os.Getenv("PORT") ... if port == "" { port = "6767" }
_GETENV = re.compile(r'\b(\w+)(?:\s*,\s*\w+)?\s*:?=\s*os\.(?:Getenv|LookupEnv)\(\s*"\w*PORT\w*"\s*\)')
_FALLBACK_WITHIN = 400  # characters after the Getenv in which the fallback assignment must follow


def ports(files: dict) -> list:
    """Each port literal the code listens on or defaults to, as Found(port, ...), in file and line order."""
    found = []
    for path in sorted(files):
        code = without_comments(files[path])
        for pattern in _PORT_PATTERNS:
            found += [_found(int(m.group(1)), path, code, m) for m in pattern.finditer(code)]
        for getenv in _GETENV.finditer(code):
            fallback = re.compile(r"\b" + re.escape(getenv.group(1)) + r'\s*=\s*"(?:[\w.]*:)?(\d{1,5})"')
            match = fallback.search(code, getenv.end(), getenv.end() + _FALLBACK_WITHIN)
            if match:
                found.append(_found(int(match.group(1)), path, code, getenv, match))
        for call in _GETENV_CONST.finditer(code):
            constant = re.search(r"\b" + re.escape(call.group(1)) + r'\s*(?:string\s*)?=\s*"(?:[\w.]*:)?(\d{1,5})"',
                                 code)
            if constant:
                found.append(_found(int(constant.group(1)), path, code, call, constant))
        if _GIN in code:
            found += [Found(8080, path, code.count("\n", 0, m.start()) + 1, "Run() of gin: $PORT, else 8080")
                      for m in _GIN_RUN.finditer(code)]
    found = [f for f in found if 1 <= f.value <= 65535]
    health = {f.value for f in health_listeners(files)}
    unique = {}
    for f in found:
        if f.value not in health:
            unique.setdefault((f.file, f.line, f.value), f)  # two patterns may read one literal: the first says it
    return sorted(unique.values(), key=lambda f: (f.file, f.line))


def health_listeners(files: dict) -> list:
    """The ports of listeners for health checks beside the service's own (`-health 0.0.0.0:81`), as Found."""
    found = []
    for path in sorted(files):
        code = without_comments(files[path])
        found += [_found(int(m.group(1)), path, code, m) for m in _HEALTH_LISTENER.finditer(code)]
    return [f for f in found if 1 <= f.value <= 65535]


def _found(value, path: str, code: str, match, fallback=None) -> Found:
    text = " ".join(match.group(0).lstrip(".").split())
    if fallback:
        text += f' ... {" ".join(fallback.group(0).split())}'
    text = text if len(text) <= 60 else text[:57] + "..."
    return Found(value, path, code.count("\n", 0, match.start()) + 1, text)


# --- routes ------------------------------------------------------------------

# mux.HandleFunc("/health", ...), mux.Handle("GET /ready", ...), r.GET("/ping", ...) (gin, echo), r.Get (chi),
# gorilla/mux's r.Path("/x") and r.PathPrefix("/")
_ROUTE = re.compile(r'\.(?:HandleFunc|Handle|Get|GET|Path|PathPrefix)\(\s*"(?:(GET|HEAD|POST|PUT|PATCH|DELETE)\s+)?'
                    r'(/[^"\s]*)"')
# gorilla/mux: .Methods("POST", "PUT") after the route, in the same statement
_METHODS = re.compile(r'[^;\n]*?\.Methods\(([^)]*)\)')
# http.Handle("/", router): a router takes every request and serves only its own routes
_DELEGATES = re.compile(r'\s*,\s*[A-Za-z_]\w*\s*\)')
_HEALTH_NAMES = ("health", "healthz", "healthcheck", "health-check", "ready", "readyz", "readiness",
                 "live", "livez", "liveness", "ping")


# gin's and echo's groups, v1 := r.Group("/v1"); chi's blocks, r.Route("/api", func(r chi.Router) { ... })
_GROUP = re.compile(r'\b(\w+)\s*:?=\s*(\w+)\.Group\(\s*"(/[^"]*)"')
_ROUTE_BLOCK = re.compile(r'\.Route\(\s*"(/[^"]*)"\s*,\s*func\s*\([^)]*\)\s*\{')


def _prefixes(code: str):
    """(groups, blocks): the path prefix of each group variable, and the (start, end, prefix) of each chi block."""
    groups = {}
    for match in _GROUP.finditer(code):
        groups[match.group(1)] = groups.get(match.group(2), "") + match.group(3)
    blocks = []
    for match in _ROUTE_BLOCK.finditer(code):
        depth, end = 0, len(code)
        for index in range(match.end() - 1, len(code)):
            depth += {"{": 1, "}": -1}.get(code[index], 0)
            if depth == 0:
                end = index
                break
        blocks.append((match.start(), end, match.group(1)))
    return groups, blocks


def _full_path(route: str, code: str, position: int, groups: dict, blocks: list) -> str:
    receiver = re.search(r"(\w+)\s*$", code[max(0, position - 64):position])
    prefix = "".join(p for start, end, p in blocks if start < position < end)
    prefix += groups.get(receiver.group(1), "") if receiver else ""
    return re.sub(r"//+", "/", prefix + route) if prefix else route


def routes(files: dict) -> list:
    """The paths the code registers a handler for that answer GET, as Found(path, ...), with the prefixes of the
    groups and blocks they are registered in."""
    found = []
    for path in sorted(files):
        code = without_comments(files[path])
        groups, blocks = _prefixes(code)
        for match in _ROUTE.finditer(code):
            if match.group(1) not in (None, "GET"):
                continue
            methods = _METHODS.match(code, match.end())
            if methods and "GET" not in methods.group(1).upper():
                continue  # .Methods("POST"): no GET
            if match.group(2) == "/" and ".Handle(" in match.group(0) and _DELEGATES.match(code, match.end()):
                continue  # http.Handle("/", router): the router's own routes count, not "/"
            route = _full_path(match.group(2), code, match.start(), groups, blocks)
            found.append(_found(route, path, code, match))
    return found


def health_route(found: list) -> Optional[Found]:
    """The route that looks like a health or readiness endpoint (a fixed path, ending in /health, /healthz,
    /ready, /ping...), preferring them in that order; None when there is none."""
    fixed = [r for r in found if not re.search(r"[{}:*]", r.value)]
    for name in _HEALTH_NAMES:
        for route in fixed:
            if route.value.rstrip("/").rsplit("/", 1)[-1].lower() == name:
                return route
    return None


def root_route(found: list) -> Optional[Found]:
    """The handler of `/` (in Go's ServeMux it also catches every path nothing else does)."""
    return next((r for r in found if r.value in ("/", "/{$}")), None)


_IMPORT = re.compile(r'"([\w.\-~]+(?:/[\w.\-~]+)+)"')


def module_path_guess(files: dict) -> Optional[str]:
    """The module path the code imports its own packages by (github.com/you/app for "github.com/you/app/handlers"
    where handlers/ is a directory of the project), for a project that has no go.mod yet; None when it does not
    show."""
    directories = {posixpath.dirname(p) for p in files if p.endswith(".go") and not ignored(p)} - {""}
    counts = {}
    for path, text in files.items():
        if not path.endswith(".go") or ignored(path):
            continue
        for block in re.findall(r"^import\s*(?:\(([^)]*)\)|(\S.*)$)", without_comments(text), re.M):
            for imported in _IMPORT.findall(" ".join(block)):
                for directory in directories:
                    if imported.endswith("/" + directory):
                        prefix = imported[:-len(directory) - 1]
                        counts[prefix] = counts.get(prefix, 0) + 1
    return max(counts, key=counts.get) if counts else None
