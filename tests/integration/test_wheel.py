"""The acceptance test of goswarm as a tool: a wheel built from this checkout, installed into a fresh venv outside
the repository, used the way a new user would in a team's Go repo laid out like the blog's (a service with its
own Dockerfile that starts FROM a base image and ADDs `<service>-linux-amd64`, no /health, no flags parsed):
`goswarm init` (nothing edited; a port the code does not show is passed as the flag the error names), then
`goswarm redeploy`, curl, a one-line change, `goswarm redeploy`: the same service, the new answer. And the blog's
next step: a second Go main, healthchecker/, whose binary the service's Dockerfile adds and runs as its
HEALTHCHECK."""
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import docker
import pytest
from invoke.util import yaml

from helpers import ROOT, SUFFIX, free_port, http_get, wait_for

pytestmark = pytest.mark.integration
REPOS = itertools.count(1)
NETWORK = f"it-wheel-net-{SUFFIX}"
BASE = f"it-wheel-base-{SUFFIX}"  # the team's base image (the blog's iron/base), made here: nothing can be pulled


@pytest.fixture(scope="module")
def tool(tmp_path_factory):
    """The bin/ of a fresh venv holding goswarm, installed from a wheel of this checkout (not editable)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"  # a copy: building in the checkout would leave build/ and *.egg-info there
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    # goswarm/tasks links to ../tasks: the copy holds the files themselves
    shutil.copytree(ROOT / "goswarm", source / "goswarm", ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp / "wheels"), str(source)], tmp)
    [wheel] = (tmp / "wheels").glob("goswarm-*.whl")
    run([sys.executable, "-m", "venv", str(tmp / "venv")], tmp)
    run([str(tmp / "venv" / "bin" / "pip"), "install", "-q", str(wheel)], tmp)
    installed = run([str(tmp / "venv" / "bin" / "python"), "-c", "import goswarm; print(goswarm.__file__)"], tmp)
    assert Path(installed.stdout.strip()).is_relative_to(tmp / "venv")  # the wheel's copy, not this checkout
    return tmp / "venv" / "bin"


def run(argv, cwd, env=None):
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                            timeout=300)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def base_image(engine, tmp_path_factory):
    context = tmp_path_factory.mktemp("base")
    (context / "team-base").write_text("the team's base layer\n")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY team-base /etc/team-base\n")
    engine.images.build(path=str(context), tag=BASE)
    yield BASE
    engine.images.remove(BASE, force=True)


class Repo:
    """A team's Go repository, and the installed goswarm run in it, as its user would (no terminal)."""

    def __init__(self, root: Path, tool: Path, engine, lock: str):
        self.root, self.engine = root, engine
        self.root.mkdir()
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("GOSWARM_", "INVOKE_", "VIRTUAL_ENV")) and k not in (
                        "ENV_FILE", "MACHINES_DIR", "PYTHONPATH")}
        # Nothing but the environment sets what every test project needs of its own: its deploy lock and network.
        self.env.update(PATH=f"{tool}{os.pathsep}{os.environ['PATH']}", GOSWARM_DEPLOY_LOCK=lock,
                        GOSWARM_SWARM_NETWORK=NETWORK)
        self.services = []

    def write(self, files: dict):
        for path, text in files.items():
            (self.root / path).parent.mkdir(parents=True, exist_ok=True)
            (self.root / path).write_text(text)

    def edit(self, path: str, old: str, new: str):
        text = (self.root / path).read_text()
        assert old in text
        (self.root / path).write_text(text.replace(old, new, 1))

    def goswarm(self, *args, check=True):
        result = subprocess.run(["goswarm", *args], cwd=self.root, env=self.env, capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=300)
        result.output = result.stdout + result.stderr
        if check and result.returncode != 0:
            pytest.fail(f"goswarm {' '.join(args)} exited {result.returncode}:\n{result.output}")
        return result

    @property
    def config(self) -> dict:
        return yaml.safe_load((self.root / "goswarm.yaml").read_text())

    def service(self, name: str) -> dict:
        return self.engine.api.inspect_service(name)

    def deployed(self, name: str):
        self.services += [name, f"{name}-edge"]

    def cleanup(self):
        for name in self.services:
            try:
                self.engine.api.remove_service(name)
            except docker.errors.NotFound:
                continue
            label = {"label": f"com.docker.swarm.service.name={name}"}
            wait_for(lambda label=label: not self.engine.containers.list(filters=label), 60, f"{name} to stop")
        prefix = self.config["image"]["prefix"] if (self.root / "goswarm.yaml").exists() else None
        for image in self.engine.images.list():
            if prefix and any(tag.startswith(f"{prefix}/") for tag in image.tags):
                self.engine.images.remove(image.id, force=True)


@pytest.fixture
def repo(tmp_path, tool, engine, base_image):
    # The directory names the image prefix: unique, so the test removes only images it made.
    number = next(REPOS)
    made = Repo(tmp_path / f"wheel-it{SUFFIX}-{number}", tool, engine, lock=f"it-wheel-lock-{SUFFIX}-{number}")
    yield made
    made.cleanup()


@pytest.fixture(scope="module", autouse=True)
def network(engine):
    yield
    for net in engine.networks.list(names=[NETWORK]):
        if net.name == NETWORK:
            wait_for(lambda net=net: net.remove() is None, 30, f"removing network {NETWORK}")


def blog_service(name: str, port: int, dockerfile_extra: str = "") -> dict:
    """The blog's accountservice: main calls service.StartWebServer("6767"), which serves /accounts/."""
    return {
        f"{name}/go.mod": f"module example.com/{name}\n\ngo 1.19\n",
        f"{name}/main.go": f'package main\n\nimport (\n\t"fmt"\n\n\t"example.com/{name}/service"\n)\n\n'
                           f'func main() {{\n\tfmt.Println("Starting {name}")\n'
                           f'\tservice.StartWebServer("{port}")\n}}\n',
        f"{name}/service/webserver.go": 'package service\n\nimport (\n\t"log"\n\t"net/http"\n)\n\n'
                                        "// StartWebServer serves the account routes on port.\n"
                                        "func StartWebServer(port string) {\n"
                                        '\thttp.HandleFunc("/accounts/", func(w http.ResponseWriter, '
                                        "_ *http.Request) {\n"
                                        '\t\tw.Write([]byte("account v1\\n"))\n\t})\n'
                                        '\tlog.Fatal(http.ListenAndServe(":"+port, nil))\n}\n',
        f"{name}/Dockerfile": f"FROM {BASE}\nEXPOSE {port}\nADD {name}-linux-amd64 /\n{dockerfile_extra}"
                              f'ENTRYPOINT ["./{name}-linux-amd64"]\n',
    }


def test_a_blog_style_repo_goes_from_init_to_a_redeployed_change(repo, engine):
    name, port = f"accountservice{SUFFIX}", free_port()
    repo.write(blog_service(name, port))
    assert shutil.which("goswarm", path=repo.env["PATH"]).startswith(str(repo.env["PATH"].split(os.pathsep)[0]))
    misspelt = repo.goswarm("init", "--prot", "1", check=False)  # a usage error: exit 2, one line, the help named
    assert misspelt.returncode == 2 and misspelt.stderr.strip() == \
        "error: init has no option --prot; see `goswarm init --help`", misspelt.output
    assert "--pty" not in repo.goswarm("--help").stdout
    init = repo.goswarm("init")
    assert f"{name} ({name}/): port {port}" in init.output
    service = repo.config["services"][name]
    assert (service["path"], service["port"], service["publish"], service["publish_mode"]) == (
        name, port, port, "edge")
    assert service["healthcheck"] == {"tcp": True}  # no /health in the code
    assert {".env.example", ".gitignore", "goswarm.yaml"} <= {p.name for p in repo.root.iterdir()}

    repo.goswarm("swarm.init")  # this project's network (GOSWARM_SWARM_NETWORK) on the swarm the engine is
    repo.deployed(name)
    first = repo.goswarm("redeploy")
    [built] = [line for line in first.output.splitlines() if line.startswith(f"built {repo.root.name}/{name}:")]
    assert "imported" not in built  # FROM the team's base image: through the builder
    assert http_get(f"http://127.0.0.1:{port}/accounts/1") == "account v1\n"
    service_id = repo.service(name)["ID"]

    repo.edit(f"{name}/service/webserver.go", "account v1", "account v2")
    repo.goswarm("redeploy")
    assert repo.service(name)["ID"] == service_id
    assert http_get(f"http://127.0.0.1:{port}/accounts/1") == "account v2\n"


HEALTHCHECKER = {
    "healthchecker/go.mod": "module example.com/healthchecker\n\ngo 1.19\n",
    "healthchecker/main.go": 'package main\n\nimport (\n\t"flag"\n\t"net/http"\n\t"os"\n\t"time"\n)\n\n'
                             "func main() {\n"
                             '\tport := flag.String("port", "80", "server port")\n\tflag.Parse()\n'
                             "\tclient := &http.Client{Timeout: 2 * time.Second}\n"
                             '\tresp, err := client.Get("http://127.0.0.1:" + *port + "/health")\n'
                             "\tif err != nil || resp.StatusCode != 200 {\n\t\tos.Exit(1)\n\t}\n\tos.Exit(0)\n}\n",
}


def test_the_healthchecker_repo_builds_both_mains_into_one_image(repo, engine):
    name, port = f"account{SUFFIX}hc", free_port()
    files = blog_service(name, port, dockerfile_extra=(
        "ADD healthchecker-linux-amd64 /\n"
        f'HEALTHCHECK --interval=1s CMD ["./healthchecker-linux-amd64", "-port={port}"]\n'))
    # Its port is a constant this time, which init does not follow; nor does the Dockerfile EXPOSE it.
    files[f"{name}/main.go"] = files[f"{name}/main.go"].replace(
        f'service.StartWebServer("{port}")', "service.StartWebServer(strconv.Itoa(listenPort))").replace(
        '"fmt"\n', '"fmt"\n\t"strconv"\n').replace("func main", f"const listenPort = {port}\n\nfunc main")
    files[f"{name}/Dockerfile"] = files[f"{name}/Dockerfile"].replace(f"EXPOSE {port}\n", "")
    files[f"{name}/service/webserver.go"] = files[f"{name}/service/webserver.go"].replace(
        '\tlog.Fatal', '\thttp.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {})\n\tlog.Fatal')
    repo.write({**files, **HEALTHCHECKER})

    refused = repo.goswarm("init", check=False)
    errors = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode == 1 and len(errors) == 1 and "Traceback" not in refused.output, refused.output
    assert f"pass --port {name}=PORT" in errors[0]
    assert not (repo.root / "goswarm.yaml").exists()
    repo.goswarm("init", "--port", f"{name}={port}")
    services = repo.config["services"]
    assert list(services) == [name]  # healthchecker is no service of its own: it goes into the image
    assert services[name]["with"] == ["healthchecker"] and "healthcheck" not in services[name]

    repo.goswarm("swarm.init")
    repo.deployed(name)
    repo.goswarm("redeploy")
    assert http_get(f"http://127.0.0.1:{port}/accounts/1") == "account v1\n"
    container = healthy_task(engine, name)
    assert container.attrs["Config"]["Healthcheck"]["Test"] == [
        "CMD", "./healthchecker-linux-amd64", f"-port={port}"]  # the image's own, run by the helper
    service_id, image = repo.service(name)["ID"], running_image(repo, name)

    repo.edit("healthchecker/main.go", "2 * time.Second", "3 * time.Second")  # a change to the helper alone
    again = repo.goswarm("redeploy")
    assert f"{name}: no change" not in again.output
    assert repo.service(name)["ID"] == service_id and running_image(repo, name) != image
    healthy_task(engine, name)
    assert http_get(f"http://127.0.0.1:{port}/accounts/1") == "account v1\n"


def running_image(repo, name: str) -> str:
    return repo.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]


def healthy_task(engine, name: str):
    """The container of the service's running task, once its health check passed."""
    def check():
        [container] = engine.containers.list(filters={"label": f"com.docker.swarm.service.name={name}"})
        return container if container.attrs["State"]["Health"]["Status"] == "healthy" else None
    return wait_for(check, 30, f"{name}'s task to be healthy")
