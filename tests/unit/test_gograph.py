"""What go list's answer says a binary is compiled from (gograph.parse), and what the Go environment adds."""
from goswarm.plan import gograph

S = "\x1f"
# Shaped as `go list -deps -f FORMAT ./cmd/api && go env -json GOWORK GOMODCACHE` prints it: the standard
# library's packages are blank lines, a module-cache package is listed and dropped.
LISTED = "\n".join([
    "",
    f"/root/go/pkg/mod/github.com/gorilla/mux@v1.8.0{S}/root/go/pkg/mod/cache/download/github.com/gorilla/mux/"
    f"@v/v1.8.0.mod{S}",
    f"/src/shared{S}/src/shared/go.mod{S}",
    f"/src/app/internal/web{S}/src/app/go.mod{S}static/index.html{S}static/app.js",
    f"/src/app/cmd/api{S}/src/app/go.mod{S}",
    '{\n\t"GOMODCACHE": "/root/go/pkg/mod",\n\t"GOWORK": ""\n}',
])


def test_the_graph_is_the_local_packages_their_embeds_and_each_modules_files():
    graph = gograph.parse(LISTED)
    assert graph.dirs == ("/src/app/cmd/api", "/src/app/internal/web", "/src/shared")
    assert graph.files == ("/src/app/go.mod", "/src/app/go.sum", "/src/app/internal/web/static/app.js",
                           "/src/app/internal/web/static/index.html", "/src/app/vendor/modules.txt",
                           "/src/shared/go.mod", "/src/shared/go.sum", "/src/shared/vendor/modules.txt")


def test_a_workspace_adds_go_work_and_its_sum():
    listed = LISTED.replace('"GOWORK": ""', '"GOWORK": "/src/go.work"')
    assert {"/src/go.work", "/src/go.work.sum"} <= set(gograph.parse(listed).files)


def test_the_environment_takes_the_go_variables_and_the_platform_wins():
    environ = {"GOFLAGS": "-tags=premium", "HOME": "/root", "GOOS": "darwin", "GOAMD64": "v3"}
    assert gograph.environment(environ, {"GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}) == {
        "GOFLAGS": "-tags=premium", "GOAMD64": "v3", "GOOS": "linux", "GOARCH": "amd64", "CGO_ENABLED": "0"}


def test_the_environment_key_changes_with_each_part():
    base = ({"GOFLAGS": ""}, "", "go1.26.8", "-trimpath", "-s -w", ".")
    keys = {gograph.env_key(*base)}
    for i, other in enumerate(({"GOFLAGS": "-tags=x"}, "GOFLAGS=-tags=x\n", "go1.27.0", "-race", "", "./cmd")):
        keys.add(gograph.env_key(*base[:i], other, *base[i + 1:]))
    assert len(keys) == 7


def test_the_graph_survives_its_record():
    graph = gograph.parse(LISTED)
    assert gograph.Graph.from_json(graph.to_json()) == graph
