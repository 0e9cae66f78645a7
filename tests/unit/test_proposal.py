"""What `goswarm init` proposes for a project's Go mains, and the goswarm.yaml it writes: valid for goswarm's config
as it is, and commented field by field."""
import pytest
from invoke.util import yaml

from goswarm.plan import config, proposal
from goswarm.settings import DEFAULTS

# The blog's layout: a service with its own Dockerfile, and a health checker it adds to its image.
BLOG = {
    "accountservice/go.mod": "module example.com/accountservice\n",
    "accountservice/main.go": 'package main\n\nimport "example.com/accountservice/service"\n\n'
                              'func main() {\n\tservice.StartWebServer("6767")\n}\n',
    "accountservice/service/webserver.go": 'package service\n\nfunc StartWebServer(port string) {\n'
                                           '\thttp.HandleFunc("/accounts/", accounts)\n'
                                           '\thttp.ListenAndServe(":"+port, nil)\n}\n',
    "healthchecker/go.mod": "module example.com/healthchecker\n",
    "healthchecker/main.go": 'package main\n\nfunc main() {\n\tport := flag.String("port", "80", "server port")\n'
                             '\thttp.Get("http://127.0.0.1:" + *port + "/health")\n}\n',
}
BLOG_DOCKERFILE = ('FROM iron/base\nEXPOSE 6767\nADD accountservice-linux-amd64 /\nADD healthchecker-linux-amd64 /\n'
                   'HEALTHCHECK --interval=1s CMD ["./healthchecker-linux-amd64", "-port=6767"]\n'
                   'ENTRYPOINT ["./accountservice-linux-amd64"]\n')
SERVER = 'package main\n\nfunc main() {\n\thttp.HandleFunc("/health", ok)\n\thttp.ListenAndServe(":8080", nil)\n}\n'


def test_a_main_whose_binary_another_dockerfile_adds_goes_into_that_image():
    services, helpers = proposal.propose(BLOG, {"accountservice": BLOG_DOCKERFILE}, "repo")
    assert helpers == {"healthchecker": "accountservice"}
    [svc] = services
    assert (svc.name, svc.main.dir, svc.main.module, svc.dockerfile) == (
        "accountservice", "accountservice", "accountservice", "accountservice/Dockerfile")
    assert svc.with_mains == ["healthchecker"]
    assert svc.port.value == 6767 and svc.port.where == 'StartWebServer("6767") in accountservice/main.go:6'
    assert svc.image_healthcheck.startswith("--interval=1s CMD") and svc.health is None and svc.smoke is None


def test_the_dockerfiles_own_binary_names_the_service():
    files = {"go.mod": "module m\n", "cmd/server/main.go": SERVER}
    [svc], _ = proposal.propose(files, {"cmd/server": "FROM base\nADD accounts-linux-amd64 /\n"}, "repo")
    assert (svc.name, svc.main.package, svc.dockerfile) == ("accounts", "./cmd/server", "cmd/server/Dockerfile")


def test_mains_named_alike_are_told_apart_and_names_are_made_valid():
    files = {"a/cmd/api/main.go": SERVER, "b/cmd/api/main.go": SERVER, "Web_Front/main.go": SERVER,
             "x-edge/main.go": SERVER}
    services, _ = proposal.propose(files, {}, "repo")
    assert [s.name for s in services] == ["web_front", "a-cmd-api", "b-cmd-api", "x-edge-app"]
    [root], _ = proposal.propose({"main.go": SERVER}, {}, "My Repo")
    assert root.name == "my-repo"


def test_health_route_and_smoke_and_a_port_per_distinct_guess():
    files = {"svc/main.go": SERVER.replace('":8080"', '":8080"); http.ListenAndServe(":9090"')}
    [svc], _ = proposal.propose(files, {}, "repo")
    assert [g.value for g in svc.ports] == [8080, 9090] and svc.port is None
    assert svc.health.value == "/health" and svc.smoke.value == "/health"


def written(tmp_path, proposals, project="repo"):
    """The goswarm.yaml init writes, read back as goswarm reads it."""
    text = proposal.render(proposal.publish_ports(proposals), project, DEFAULTS)
    raw = yaml.safe_load(text)
    return text, raw, config.parse_services(raw["services"], tmp_path)


def test_the_written_config_is_valid_and_says_what_each_field_is(tmp_path):
    services, _ = proposal.propose({**BLOG, "quotes/main.go": SERVER}, {"accountservice": BLOG_DOCKERFILE}, "Blog Repo")
    text, raw, parsed = written(tmp_path, services, "Blog Repo")
    account, quotes = parsed["accountservice"], parsed["quotes"]
    assert (account.path, account.main, account.port, account.publish, account.publish_mode) == (
        tmp_path / "accountservice", ".", 6767, 6767, "edge")
    assert account.with_mains == (tmp_path / "healthchecker",) and account.smoke is None
    assert account.healthcheck == config.Check("image")  # the Dockerfile's own HEALTHCHECK is kept
    assert quotes.healthcheck == config.Check("http", ("/health",)) and quotes.smoke == "/health"
    assert raw["image"]["prefix"] == "blog-repo" and raw["deploy"] == {"timeout": 60}
    assert text.startswith("# yaml-language-server: $schema=goswarm.schema.json\n")
    assert raw["project"] == "blog-repo" and "\n  # lock: goswarm-deploy-lock-blog-repo " in text
    for field in ("path", "main", "port", "publish", "publish_mode", "replicas", "healthcheck", "with"):
        line = next(line for line in text.splitlines() if line.strip().startswith(f"{field}:"))
        above = text.splitlines()[text.splitlines().index(line) - 1]
        assert "#" in line or above.strip().startswith("#"), f"{field} has no comment: {line}"
    assert max(len(line) for line in text.splitlines() if not line.lstrip().startswith("#")) <= 118


def test_without_a_health_route_the_port_is_checked(tmp_path):
    services, _ = proposal.propose({"svc/main.go": SERVER.replace("/health", "/items")}, {}, "repo")
    _, _, parsed = written(tmp_path, services)
    assert parsed["svc"].healthcheck == config.Check("tcp") and parsed["svc"].smoke is None


def test_a_publish_port_taken_by_an_earlier_service_is_left_out(tmp_path):
    services, _ = proposal.propose({"a/main.go": SERVER, "b/main.go": SERVER}, {}, "repo")
    text, _, parsed = written(tmp_path, services)
    assert (parsed["a"].publish, parsed["b"].publish, parsed["b"].port) == (8080, None, 8080)
    assert "# publish: 8080" in text and parsed["b"].smoke is None


@pytest.mark.parametrize("value", ["true", "null", "123", "/a/{id}", "a b", "-x"])
def test_scalars_read_back_as_the_same_string(value):
    assert yaml.safe_load(f"k: {proposal._scalar(value)}") == {"k": value}


def test_env_example_and_gitignore_get_only_the_lines_they_lack():
    assert proposal.env_example_addition("") .count("=") == 4
    addition = proposal.env_example_addition("DOCKER_HOST=x\n# MANAGER_IP=1.2.3.4\n")
    assert "REGISTRY_USERNAME=" in addition and "DOCKER_HOST=" not in addition and "MANAGER_IP=" not in addition
    assert proposal.env_example_addition("".join(f"{k}=\n" for k in proposal.ENV_EXAMPLE)) == ""
    assert proposal.gitignore_addition("/dist\n.env\n").splitlines()[1:] == [".swarm/", ".machines/"]
    assert proposal.gitignore_addition("dist/\n.swarm\n.machines/\n.env\n") == ""


# --- issue 16, "What broke" 4: each of init's wrong guesses -------------------------------------------------------

GORILLA = """package main

func main() {
	router := mux.NewRouter()
	router.HandleFunc("/accounts/{id}", get).Methods("GET")
	router.HandleFunc("/accounts", create).Methods("POST")
	http.Handle("/", router)
	http.ListenAndServe(":6767", nil)
}
"""
KELSEY = """package main

func main() {
	var (
		httpAddr   = flag.String("http", "0.0.0.0:80", "HTTP service address.")
		healthAddr = flag.String("health", "0.0.0.0:81", "Health service address.")
	)
	hmux := http.NewServeMux()
	hmux.HandleFunc("/healthz", health.HealthzHandler)
	healthServer := manners.NewServer()
	healthServer.Addr = *healthAddr
	mux := http.NewServeMux()
	mux.HandleFunc("/", handlers.HelloHandler)
	httpServer := manners.NewServer()
	httpServer.Addr = *httpAddr
	httpServer.ListenAndServe()
}
"""


def one(files, dockerfiles=None):
    [svc], _ = proposal.propose({"svc/go.mod": "module example.com/svc\n", **files}, dockerfiles or {}, "repo")
    return svc


def test_a_router_handed_slash_does_not_make_slash_a_route():
    svc = one({"svc/main.go": GORILLA})
    assert svc.smoke is None  # it serves /accounts/{id} only: `/` answers 404


def test_methods_without_get_are_no_get_routes():
    assert [r.value for r in proposal.gosource.routes({"m.go": GORILLA})] == ["/accounts/{id}"]


def test_path_prefix_slash_is_a_route():
    code = GORILLA.replace('http.Handle("/", router)', 'router.PathPrefix("/").Handler(static)')
    assert one({"svc/main.go": code}).smoke.value == "/"


def test_a_flag_whose_default_is_an_address_gives_the_port_and_a_health_listener_its_own_check(tmp_path):
    svc = one({"svc/main.go": KELSEY})
    assert [g.value for g in svc.ports] == [80] and svc.port.value == 80
    assert (svc.health.value, svc.health_port.value) == ("/healthz", 81)
    assert svc.smoke.value == "/"  # on the published port; /healthz is not there
    text, raw, services = written(tmp_path, [svc])
    assert raw["services"]["svc"]["healthcheck"] == {"http": "/healthz", "port": 81}
    assert services["svc"].healthcheck == config.Check("http", ("/healthz",), 81)


def test_a_goreleaser_dockerfile_gets_the_build_args_it_shows_and_says_what_goswarm_does(tmp_path):
    dockerfile = ("FROM gcr.io/distroless/static-debian12:nonroot\nARG TARGETOS\nARG TARGETARCH\nARG BIN_NAME\n"
                  "COPY dist/$TARGETOS/$TARGETARCH/$BIN_NAME /\nENTRYPOINT [\"/http-echo\"]\n")
    svc = one({"svc/main.go": SERVER}, {"svc": dockerfile})
    assert svc.build_args == {"BIN_NAME": "http-echo"}
    text, raw, services = written(tmp_path, [svc])
    assert services["svc"].build_args == {"BIN_NAME": "http-echo"}
    assert "compiles the binary on this host and builds the Dockerfile's final stage with it at /http-echo" in text
    assert "it needs the image gcr.io/distroless/static-debian12:nonroot" in text


def test_a_guess_that_did_not_answer_2xx_is_written_commented_out_with_its_note(tmp_path):
    svc = one({"svc/main.go": SERVER.replace('ok)', 'ok)\n\thttp.HandleFunc("/", home)')})
    svc.health_note = "did not answer 2xx in a trial run: GET http://127.0.0.1:8080/health: status 404"
    svc.smoke_note = "not tried: svc: Dockerfile needs golang:1-alpine"
    text, raw, services = written(tmp_path, [svc])
    assert "    # healthcheck: {http: /health}  # did not answer 2xx in a trial run: GET http" in text
    assert "    # smoke: /health  # not tried: svc: Dockerfile needs golang:1-alpine" in text
    assert raw["services"]["svc"]["healthcheck"] == {"tcp": True} and "smoke" not in raw["services"]["svc"]


def test_what_the_trial_builds_is_what_init_writes(tmp_path):
    services, _ = proposal.propose(BLOG, {"accountservice": BLOG_DOCKERFILE}, "repo")
    _, _, written_services = written(tmp_path, services)
    built = config.parse_services(proposal.building(services, "repo")["services"], tmp_path)
    for name, service in written_services.items():
        fields = ("path", "main", "dockerfile", "build_args", "with_mains", "port")
        assert [getattr(built[name], f) for f in fields] == [getattr(service, f) for f in fields]
