"""`goswarm init`: what it proposes for a project's Go mains, the goswarm.yaml it writes (which goswarm's config
accepts as it is), and the files it only adds to, never overwrites."""
import pytest
from invoke.util import yaml

from goswarm.errors import ConfigError, PipelineError
from goswarm.io.shell import Shell
from goswarm.ops import init
from goswarm.plan import config

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
    services, helpers = init.propose(BLOG, {"accountservice": BLOG_DOCKERFILE}, "repo")
    assert helpers == {"healthchecker": "accountservice"}
    [svc] = services
    assert (svc.name, svc.main.dir, svc.main.module, svc.dockerfile) == (
        "accountservice", "accountservice", "accountservice", "accountservice/Dockerfile")
    assert svc.with_mains == ["healthchecker"]
    assert svc.port.value == 6767 and svc.port.where == 'StartWebServer("6767") in accountservice/main.go:6'
    assert svc.image_healthcheck.startswith("--interval=1s CMD") and svc.health is None and svc.smoke is None


def test_the_dockerfiles_own_binary_names_the_service():
    files = {"go.mod": "module m\n", "cmd/server/main.go": SERVER}
    [svc], _ = init.propose(files, {"cmd/server": "FROM base\nADD accounts-linux-amd64 /\n"}, "repo")
    assert (svc.name, svc.main.package, svc.dockerfile) == ("accounts", "./cmd/server", "cmd/server/Dockerfile")


def test_mains_named_alike_are_told_apart_and_names_are_made_valid():
    files = {"a/cmd/api/main.go": SERVER, "b/cmd/api/main.go": SERVER, "Web_Front/main.go": SERVER,
             "x-edge/main.go": SERVER}
    services, _ = init.propose(files, {}, "repo")
    assert [s.name for s in services] == ["web_front", "a-cmd-api", "b-cmd-api", "x-edge-app"]
    [root], _ = init.propose({"main.go": SERVER}, {}, "My Repo")
    assert root.name == "my-repo"


def test_health_route_and_smoke_and_a_port_per_distinct_guess():
    files = {"svc/main.go": SERVER.replace('":8080"', '":8080"); http.ListenAndServe(":9090"')}
    [svc], _ = init.propose(files, {}, "repo")
    assert [g.value for g in svc.ports] == [8080, 9090] and svc.port is None
    assert svc.health.value == "/health" and svc.smoke.value == "/health"


def written(tmp_path, proposals, project="repo"):
    """The goswarm.yaml init writes, read back as goswarm reads it."""
    text = init.render(init.publish_ports(proposals), project)
    raw = yaml.safe_load(text)
    return text, raw, config.parse_services(raw["services"], tmp_path)


def test_the_written_config_is_valid_and_says_what_each_field_is(tmp_path):
    services, _ = init.propose({**BLOG, "quotes/main.go": SERVER}, {"accountservice": BLOG_DOCKERFILE}, "Blog Repo")
    text, raw, parsed = written(tmp_path, services)
    account, quotes = parsed["accountservice"], parsed["quotes"]
    assert (account.path, account.main, account.port, account.publish, account.publish_mode) == (
        tmp_path / "accountservice", ".", 6767, 6767, "edge")
    assert account.with_mains == (tmp_path / "healthchecker",) and account.smoke is None
    assert "healthcheck" not in raw["services"]["accountservice"]  # the image's own HEALTHCHECK is kept
    assert raw["services"]["quotes"]["healthcheck"] == {"http": "/health"} and quotes.smoke == "/health"
    assert raw["image"]["prefix"] == "blog-repo" and raw["deploy"] == {"timeout": 60}
    assert "# lock: goswarm-deploy-lock" in text
    for field in ("path", "main", "port", "publish", "publish_mode", "replicas", "healthcheck", "with"):
        line = next(line for line in text.splitlines() if line.strip().startswith(f"{field}:"))
        above = text.splitlines()[text.splitlines().index(line) - 1]
        assert "#" in line or above.strip().startswith("#"), f"{field} has no comment: {line}"
    assert max(len(line) for line in text.splitlines() if not line.lstrip().startswith("#")) <= 118


def test_without_a_health_route_the_port_is_checked(tmp_path):
    services, _ = init.propose({"svc/main.go": SERVER.replace("/health", "/items")}, {}, "repo")
    _, raw, parsed = written(tmp_path, services)
    assert raw["services"]["svc"]["healthcheck"] == {"tcp": True} and parsed["svc"].smoke is None


def test_a_publish_port_taken_by_an_earlier_service_is_left_out(tmp_path):
    services, _ = init.propose({"a/main.go": SERVER, "b/main.go": SERVER}, {}, "repo")
    text, _, parsed = written(tmp_path, services)
    assert (parsed["a"].publish, parsed["b"].publish, parsed["b"].port) == (8080, None, 8080)
    assert "# publish: 8080" in text and parsed["b"].smoke is None


@pytest.mark.parametrize("value", ["true", "null", "123", "/a/{id}", "a b", "-x"])
def test_scalars_read_back_as_the_same_string(value):
    assert yaml.safe_load(f"k: {init._scalar(value)}") == {"k": value}


def test_port_flags():
    assert init.parse_ports(["a=1", "b=2,c=65535"]) == {"a": 1, "b": 2, "c": 65535}
    for wrong in (["a"], ["a=x"], ["=80"], ["a=0"], ["a=70000"]):
        with pytest.raises(ConfigError, match="--port takes NAME=PORT"):
            init.parse_ports(wrong)


def proposals(files=None):
    return init.propose(files or {"a/main.go": SERVER, "b/main.go": SERVER.replace('":8080"', 'addr()')}, {}, "r")[0]


def test_without_a_terminal_one_line_names_the_flag_for_each_port_it_cannot_read():
    with pytest.raises(PipelineError) as e:
        init.choose_ports(proposals(), {}, ask=None)
    assert "cannot tell which port b (b/) listens on: pass --port b=PORT to `goswarm init`" in str(e.value)
    assert [p.port.value for p in init.choose_ports(proposals(), {"b": 9000}, ask=None)] == [8080, 9000]
    with pytest.raises(ConfigError, match="--port c: no service of that name; init found: a, b"):
        init.choose_ports(proposals(), {"c": 1}, ask=None)


def test_several_guesses_are_named_in_the_line():
    both = proposals({"a/main.go": SERVER.replace('":8080"', '":8080"); http.ListenAndServe(":9090"')})
    with pytest.raises(PipelineError, match=r"a \(a/\) may listen on 8080 \(.*main.go:5\) or 9090 .*--port a=PORT"):
        init.choose_ports(both, {}, ask=None)


def test_at_a_terminal_it_asks_and_an_empty_answer_leaves_a_main_out(capsys):
    answers = iter(["eighty", "8081"])
    [a, b] = init.choose_ports(proposals(), {}, ask=lambda question: next(answers))
    assert (a.port.value, b.port.value, b.port.where) == (8080, 8081, "your answer")
    assert "'eighty' is not a port number" in capsys.readouterr().out
    assert [p.name for p in init.choose_ports(proposals(), {}, ask=lambda q: "")] == ["a"]


def test_a_terminal_that_closes_or_never_answers_is_one_line():
    def closed(question):
        raise EOFError
    with pytest.raises(PipelineError, match="no answer for b's port: pass --port b=PORT"):
        init.choose_ports(proposals(), {}, ask=closed)
    with pytest.raises(PipelineError, match="no port for b: pass --port b=PORT"):
        init.choose_ports(proposals(), {}, ask=lambda q: "x")


def test_a_main_that_listens_on_nothing_is_left_out_unless_given_a_port(capsys):
    files = {"a/main.go": SERVER, "tool/main.go": 'package main\n\nfunc main() {\n\thttp.Get("http://x:80/")\n}\n'}
    assert [p.name for p in init.choose_ports(proposals(files), {}, ask=None)] == ["a"]
    assert "tool/: left out, its code listens on no port" in capsys.readouterr().out
    assert [p.name for p in init.choose_ports(proposals(files), {"tool": 81}, ask=None)] == ["a", "tool"]


def test_env_example_and_gitignore_get_only_the_lines_they_lack():
    assert init.env_example_addition("") .count("=") == 4
    addition = init.env_example_addition("DOCKER_HOST=x\n# MANAGER_IP=1.2.3.4\n")
    assert "REGISTRY_USERNAME=" in addition and "DOCKER_HOST=" not in addition and "MANAGER_IP=" not in addition
    assert init.env_example_addition("".join(f"{k}=\n" for k in init.ENV_EXAMPLE)) == ""
    assert init.gitignore_addition("/dist\n.env\n").splitlines()[1:] == [".swarm/", ".machines/"]
    assert init.gitignore_addition("dist/\n.swarm\n.machines/\n.env\n") == ""


# --- the files, end to end ---------------------------------------------------------------

def blog_repo(root):
    for path, text in {**BLOG, "accountservice/Dockerfile": BLOG_DOCKERFILE}.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_init_writes_the_three_files_once_and_never_overwrites(tmp_path, capsys):
    root = blog_repo(tmp_path / "repo")
    (root / ".gitignore").write_text("node_modules/")  # no final newline
    init.init(Shell(None), root)
    out = capsys.readouterr().out
    assert "-> write goswarm.yaml (1 service: accountservice)" in out and "-> write .env.example" in out
    assert "-> add 4 lines to .gitignore" in out
    assert (root / ".gitignore").read_text().startswith("node_modules/\n# goswarm")
    assert config.parse_services(yaml.safe_load((root / "goswarm.yaml").read_text())["services"], root)
    before = {p.name: p.read_text() for p in root.iterdir() if p.is_file()}
    (root / "goswarm.yaml").write_text("# mine\n")
    init.init(Shell(None), root)
    out = capsys.readouterr().out
    assert "goswarm.yaml exists: left as it is" in out and "-> " not in out
    assert (root / "goswarm.yaml").read_text() == "# mine\n"
    assert {p.name: p.read_text() for p in root.iterdir() if p.is_file() and p.name != "goswarm.yaml"} == {
        k: v for k, v in before.items() if k != "goswarm.yaml"}


def test_dry_init_shows_the_config_and_writes_nothing(tmp_path, capsys):
    root = blog_repo(tmp_path / "repo")
    init.init(Shell(None, dry=True), root)
    out = capsys.readouterr().out
    assert "[dry] would write goswarm.yaml" in out and "with: [healthchecker]" in out
    assert sorted(p.name for p in root.iterdir()) == ["accountservice", "healthchecker"]


def test_an_invoke_yaml_with_services_is_left_to_do_its_job(tmp_path, capsys):
    root = blog_repo(tmp_path / "repo")
    (root / "invoke.yaml").write_text("services:\n  a: {path: a, port: 1}\n")
    init.init(Shell(None), root)
    assert "invoke.yaml configures the services already" in capsys.readouterr().out
    assert not (root / "goswarm.yaml").exists()


def test_an_empty_directory_is_one_line_and_nothing_written(tmp_path):
    with pytest.raises(PipelineError, match="no Go main package .* under .*: nothing to set up"):
        init.init(Shell(None), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_port_it_cannot_read_writes_nothing(tmp_path):
    root = blog_repo(tmp_path / "repo")
    main_go = root / "accountservice" / "main.go"
    main_go.write_text(main_go.read_text().replace('StartWebServer("6767")', "StartWebServer(port())"))
    (root / "accountservice" / "Dockerfile").write_text(BLOG_DOCKERFILE.replace("EXPOSE 6767\n", ""))
    with pytest.raises(PipelineError, match="--port accountservice=PORT"):
        init.init(Shell(None), root)
    assert sorted(p.name for p in root.iterdir()) == ["accountservice", "healthchecker"]
    init.init(Shell(None), root, ports=["accountservice=6767"])
    assert "port: 6767                    # it listens here: --port" in (root / "goswarm.yaml").read_text()
