"""Go source read for `goswarm init`: main packages, the port a service listens on, its routes."""
import pytest

from goswarm.plan import gosource
from goswarm.plan.gosource import Main

MAIN = "package main\n\nfunc main() {}\n"


def test_comments_go_but_strings_and_line_numbers_stay():
    code = 'a := "http://x" // gone\n/* gone\n too */ b := `raw // kept`\nc := \'"\'\n'
    stripped = gosource.without_comments(code)
    lines = [line.strip() for line in stripped.splitlines()]
    assert lines == ['a := "http://x"', "", "b := `raw // kept`", "c := '\"'"]


def test_main_packages_and_their_modules():
    files = {
        "accountservice/go.mod": "module a\n", "accountservice/main.go": MAIN,
        "accountservice/service/web.go": "package service\n",
        "tools/go.mod": "module t\n", "tools/cmd/gen/main.go": MAIN,
        "tools/cmd/gen/gen_test.go": "package main\nfunc main() {}\n",
        "lib/lib.go": "package lib\n// func main() {}\n",
        "commented/main.go": "package main\n/*\nfunc main() {}\n*/\n",
        "ignored/gen.go": "//go:build ignore\n\npackage main\n\nfunc main() {}\n",
        "vendor/x/main.go": MAIN, ".hidden/main.go": MAIN, "_old/main.go": MAIN,
        "main.go": MAIN,
    }
    assert gosource.mains(files) == [Main(".", None), Main("accountservice", "accountservice"),
                                     Main("tools/cmd/gen", "tools")]
    assert Main("tools/cmd/gen", "tools").package == "./cmd/gen"
    assert Main("accountservice", "accountservice").package == "."
    assert Main("x", None).package == "."


def test_main_needs_func_main_in_a_main_package_file():
    assert gosource.is_main({"a.go": "package main\n", "b.go": "package main\nfunc main ( ) {\n}\n"})
    assert not gosource.is_main({"a.go": "package main\n\nfunc helper() {}\n"})


def test_the_module_is_the_nearest_go_mod_above():
    modules = {"", "svc", "svc/sub"}
    assert gosource.module_of("svc/sub/cmd", modules) == "svc/sub"
    assert gosource.module_of("svc/cmd", modules) == "svc"
    assert gosource.module_of("other", modules) == "."
    assert gosource.module_of("other", {"svc"}) is None


def test_sources_are_the_whole_module_for_its_only_main_else_the_main_and_below():
    files = {"api/go.mod": "", "api/cmd/api/main.go": MAIN, "api/internal/server/s.go": "package server\n",
             "two/go.mod": "", "two/cmd/a/main.go": MAIN, "two/cmd/a/x/x.go": "package x\n", "two/cmd/b/main.go": MAIN,
             "two/internal/i.go": "package internal\n", "api/cmd/api/main_test.go": "package main\n",
             "api/nested/go.mod": "", "api/nested/n.go": "package n\n"}
    mains = gosource.mains(files)
    assert set(gosource.sources_of(Main("api/cmd/api", "api"), files, mains)) == {
        "api/cmd/api/main.go", "api/internal/server/s.go"}
    assert set(gosource.sources_of(Main("two/cmd/a", "two"), files, mains)) == {"two/cmd/a/main.go", "two/cmd/a/x/x.go"}


@pytest.mark.parametrize("code, port", [
    ('http.ListenAndServe(":6767", nil)', 6767),
    ('log.Fatal(http.ListenAndServe("0.0.0.0:8080", mux))', 8080),
    ('ln, _ := net.Listen("tcp", "[::]:9000")', 9000),
    ('srv := &http.Server{\n\tAddr: ":7070",\n}', 7070),
    ('service.StartWebServer("6767")', 6767),
    ("startServer(8081)", 8081),
    ('r.Run(":3000")', 3000),
    ('port := os.Getenv("PORT")\nif port == "" {\n\tport = "5050"\n}', 5050),
    ('p, ok := os.LookupEnv("HTTP_PORT")\nif !ok {\n\tp = ":5151"\n}', 5151),
    ('addr := getenv("PORT", "4040")', 4040),
    ('addr := cmp.Or(os.Getenv("PORT"), "4141")', 4141),
    ('port := flag.Int("port", 6767, "the port")', 6767),
    ('flag.StringVar(&addr, "listen-addr", ":8443", "where")', 8443),
    ('flag.String("http_port", "9999", "x")', 9999),
])
def test_port_literals_are_found(code, port):
    found = gosource.ports({"main.go": "package main\n\nfunc main() {\n" + code + "\n}\n"})
    assert [f.value for f in found] == [port]
    assert found[0].file == "main.go" and found[0].line >= 4


@pytest.mark.parametrize("code", [
    'http.ListenAndServe(":"+port, nil)',                        # built at run time
    'http.ListenAndServe(fmt.Sprintf(":%d", listenPort), nil)',  # from a constant: not followed
    '// http.ListenAndServe(":6767", nil)',                      # commented out
    'resp, _ := http.Get("http://127.0.0.1:6767/health")',       # a client, not a server
    'port := os.Getenv("PORT")',                                 # no default
    'http.ListenAndServe(":99999", nil)',                        # no port number
])
def test_no_port_where_there_is_no_literal_to_read(code):
    assert gosource.ports({"main.go": "package main\n\nfunc main() {\n" + code + "\n}\n"}) == []


def test_a_port_says_where_it_was_found():
    found = gosource.ports({"svc/main.go": 'package main\n\nfunc main() {\n\tservice.StartWebServer("6767")\n}\n'})
    assert found[0].where == 'StartWebServer("6767") in svc/main.go:4'


def test_serves_tells_a_server_from_a_tool():
    assert gosource.serves({"a.go": "http.ListenAndServe(addr, nil)"})
    assert gosource.serves({"a.go": "srv := &http.Server{Addr: addr}"})
    assert gosource.serves({"a.go": 'ln, err := lc.Listen(ctx, "tcp", addr)'})
    assert not gosource.serves({"a.go": 'resp, err := http.Get("http://127.0.0.1:80/health")\n// ListenAndServe(x)'})


ROUTES = """package main
func routes(mux *http.ServeMux, r *gin.Engine) {
	mux.Handle("/accounts/", accounts)
	mux.HandleFunc("POST /orders", create)
	mux.HandleFunc("GET /readyz", ready)
	r.GET("/ping", ping)
	mux.HandleFunc("/items/{id}", item)
	mux.HandleFunc("/", index)
}
"""


def test_routes_that_answer_get():
    found = [r.value for r in gosource.routes({"r.go": ROUTES})]
    assert found == ["/accounts/", "/readyz", "/ping", "/items/{id}", "/"]


def test_the_health_route_prefers_health_then_ready_then_ping():
    found = gosource.routes({"r.go": ROUTES})
    assert gosource.health_route(found).value == "/readyz"
    with_health = found + gosource.routes({"h.go": 'mux.HandleFunc("/api/health", h)'})
    assert gosource.health_route(with_health).value == "/api/health"
    assert gosource.health_route(gosource.routes({"h.go": 'mux.HandleFunc("/health/{part}", h)'})) is None
    assert gosource.root_route(found).value == "/"


def test_gin_and_echo_listen_their_own_ways():
    gin = 'package main\nimport "github.com/gin-gonic/gin"\nfunc main() {\n\tr := gin.New()\n\tr.Run()\n}\n'
    assert gosource.serves({"main.go": gin})
    assert [(f.value, f.where) for f in gosource.ports({"main.go": gin})] == [
        (8080, "Run() of gin: $PORT, else 8080 in main.go:5")]
    assert not gosource.serves({"main.go": gin.replace('"github.com/gin-gonic/gin"', '"example.com/job"')})
    echo = 'package main\nfunc main() {\n\te := echo.New()\n\te.Logger.Fatal(e.Start(":1323"))\n}\n'
    assert gosource.serves({"main.go": echo})
    assert [f.value for f in gosource.ports({"main.go": echo})] == [1323]


def test_routes_carry_the_prefix_of_their_group_or_chi_block():
    code = """package main
func main() {
	v1 := r.Group("/v1")
	v1.GET("/ping", ping)
	admin := v1.Group("/admin/")
	admin.GET("/ok", ok)
	r.Route("/api", func(r chi.Router) {
		r.Get("/health", health)
		r.Route("/v2", func(r chi.Router) { r.Get("/x", x) })
	})
	r.Get("/after", after)
}
"""
    assert [r.value for r in gosource.routes({"main.go": code})] == [
        "/v1/ping", "/v1/admin/ok", "/api/health", "/api/v2/x", "/after"]


def test_flagsets_dotted_flag_names_and_a_port_constant():
    flagset = ('package main\nfunc main() {\n\tfs := flag.NewFlagSet("svc", flag.ExitOnError)\n'
               '\tdebug := fs.String("debug.addr", ":8080", "debug")\n'
               '\thttpAddr := fs.String("http-addr", ":8081", "x")\n'
               '\tapi := flag.String("http.addr", ":8000", "x")\n}\n')
    assert [(f.value, f.text) for f in gosource.ports({"main.go": flagset})] == [
        (8080, 'fs.String("debug.addr", ":8080",'), (8081, 'fs.String("http-addr", ":8081",'),
        (8000, 'flag.String("http.addr", ":8000",')]
    constant = ('package main\nconst (\n\tdefaultPort = "8080"\n)\nfunc main() {\n'
                '\taddr := envString("PORT", defaultPort)\n\thttp.ListenAndServe(":"+addr, nil)\n}\n')
    assert [f.value for f in gosource.ports({"main.go": constant})] == [8080]


def test_of_several_listeners_the_http_one_is_the_service():
    from goswarm.plan import proposal

    code = ('package main\nfunc main() {\n\tfs := flag.NewFlagSet("svc", flag.ExitOnError)\n'
            '\tdebug := fs.String("debug.addr", ":8080", "debug")\n\tgrpc := fs.String("grpc-addr", ":8082", "x")\n'
            '\thttpAddr := fs.String("http-addr", ":8081", "x")\n\thttp.Serve(l, nil)\n}\n')
    found, _ = proposal.propose({"go.mod": "module x\n", "main.go": code}, {}, "svc")
    assert found[0].port.value == 8081 and len(found[0].ports) == 3


def test_the_routes_of_the_packages_a_main_imports_count():
    files = {"go.mod": "module example.com/pod\n",
             "cmd/pod/main.go": 'package main\nimport (\n\t"flag"\n\tapi "example.com/pod/pkg/api"\n)\n'
                                'func main() {\n\tfs.Int("port", 9898, "x")\n\tapi.Start()\n}\n',
             "cmd/cli/main.go": "package main\nfunc main() {}\n",
             "pkg/api/server.go": 'package api\nimport "example.com/pod/pkg/health"\n'
                                  'func Start() {\n\tr.HandleFunc("/version", v)\n\thealth.Register(r)\n}\n',
             "pkg/health/health.go": 'package health\nfunc Register(r *mux.Router) {\n'
                                     '\tr.HandleFunc("/healthz", h)\n}\n',
             "pkg/other/other.go": 'package other\nfunc x() {\n\tr.HandleFunc("/elsewhere", h)\n}\n'}
    main = next(m for m in gosource.mains(files) if m.dir == "cmd/pod")
    own = gosource.sources_of(main, files, gosource.mains(files))
    reached = gosource.with_imports(main, files, own)
    assert sorted(reached) == ["cmd/pod/main.go", "pkg/api/server.go", "pkg/health/health.go"]
    assert [r.value for r in gosource.routes(reached)] == ["/version", "/healthz"]
