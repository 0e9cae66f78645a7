"""`goswarm init`: the ports it settles (flags, the code, a terminal, or one line naming the flag), and the files
it writes once and only adds to, never overwrites."""
import pytest
from invoke.util import yaml

from goswarm.errors import ConfigError, PipelineError
from goswarm.io.shell import Shell
from goswarm.ops import init
from goswarm.plan import config, proposal

from .test_proposal import BLOG, BLOG_DOCKERFILE, SERVER  # the blog's layout, as plain files


def test_port_flags():
    assert init.parse_ports(["a=1", "b=2,c=65535"]) == {"a": 1, "b": 2, "c": 65535}
    for wrong in (["a"], ["a=x"], ["=80"], ["a=0"], ["a=70000"]):
        with pytest.raises(ConfigError, match="--port takes NAME=PORT"):
            init.parse_ports(wrong)


def proposals(files=None):
    """a/ shows its port, b/ does not."""
    files = files or {"a/main.go": SERVER, "b/main.go": SERVER.replace('":8080"', "addr()")}
    return proposal.propose(files, {}, "r")[0]


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


def _pre_modules_repo(root, vendor: bool):
    (root / "hello").mkdir(parents=True)
    (root / "handlers").mkdir()
    if vendor:
        (root / "vendor").mkdir()
    (root / "handlers" / "hello.go").write_text("package handlers\n")
    (root / "hello" / "main.go").write_text(SERVER.replace("package main\n", 'package main\n\nimport (\n\t"net/http"'
                                                           '\n\t"github.com/you/app/handlers"\n)\n'))
    return root


def test_a_main_in_no_go_module_and_no_vendor_is_one_line_naming_the_step_and_nothing_is_written(tmp_path):
    root = _pre_modules_repo(tmp_path / "app", vendor=False)
    with pytest.raises(PipelineError) as raised:
        init.init(Shell(None), root)
    assert str(raised.value) == (
        f"hello/ is in no Go module (no go.mod at or above it), and goswarm builds with modules: make the project "
        f"one, as its users would, with `cd {root} && go mod init github.com/you/app && go mod tidy`"
        f", then run `goswarm init` again")
    assert not (root / "goswarm.yaml").exists()


def test_a_project_of_the_gopath_days_with_a_vendor_is_built_in_gopath_mode(tmp_path, capsys):
    root = _pre_modules_repo(tmp_path / "app", vendor=True)
    proposals = init.plan(root, {}, [], None)
    assert [(p.name, p.main.module, p.main.package, p.gopath) for p in proposals] == [
        ("hello", ".", "./hello", "github.com/you/app")]
    assert "hello/: in no Go module, with a vendor/: built in GOPATH mode as github.com/you/app" in \
        capsys.readouterr().out
    lines = proposal.render_service(proposals[0]).splitlines()
    assert lines[2].split() == ["gopath:", "github.com/you/app", "#", "its", "import", "path:", "built", "in",
                                "GOPATH", "mode", "with", "its", "vendor/"]
    assert proposal.building(proposals, "app")["services"]["hello"]["gopath"] == "github.com/you/app"


def test_publish_and_name_flags(tmp_path):
    root = blog_repo(tmp_path / "repo")
    init.init(Shell(None), root, names=["accountservice=accounts"], publish=["accounts=16767"])
    raw = yaml.safe_load((root / "goswarm.yaml").read_text())
    assert raw["services"]["accounts"]["publish"] == 16767 and raw["services"]["accounts"]["port"] == 6767
    for flags, message in ((dict(names=["accountservice=a-edge"]), "--name takes NAME=NEW"),
                           (dict(publish=["nope=1"]), "--publish nope: no service of that name")):
        with pytest.raises(ConfigError, match=message):
            init.init(Shell(None), blog_repo(tmp_path / "other"), **flags)


def test_init_writes_the_schema_its_config_names_and_the_config_fits_it(tmp_path, capsys):
    from .test_ci_templates import check, tool

    root = blog_repo(tmp_path / "repo")
    init.init(Shell(None), root)
    assert "-> write goswarm.schema.json (for editors: `" in capsys.readouterr().out
    text = (root / "goswarm.yaml").read_text()
    assert text.splitlines()[0] == "# yaml-language-server: $schema=goswarm.schema.json"
    result = check(tool("check-jsonschema"), "--schemafile", str(root / "goswarm.schema.json"),
                   str(root / "goswarm.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    (root / "goswarm.yaml").write_text(text.replace("services:", "servces:"))
    assert check(tool("check-jsonschema"), "--schemafile", str(root / "goswarm.schema.json"),
                 str(root / "goswarm.yaml")).returncode == 1
