"""The CI pipeline `goswarm init --ci github|gitlab` writes into the user's repository. Pure: text from the
goswarm version, the services' Go modules and their Go version.

Stages: test (go vet, go test on each module, for every push and merge/pull request), then on the default
branch: build and push the images with the release file (dist/release.json) that pins their digests, then
deploy exactly that release and smoke test it. goswarm is installed pinned to the version that wrote the file.
Values that are no secret (the registry, the manager) are variables, shown in logs; secrets reach a script only
through `env:` (GitHub) or masked variables (GitLab). (ci/ in goswarm's own repository is its own pipeline.)
"""
from dataclasses import dataclass

KINDS = ("github", "gitlab")
PATHS = {"github": ".github/workflows/goswarm.yml", "gitlab": ".gitlab-ci.yml"}

# Pinned by commit: a tag can be moved, a commit cannot. Taken from the workflows of public Go modules in this
# machine's module cache (`grep -r 'actions/checkout@' $(go env GOMODCACHE)`), where each SHA is pinned with
# the same tag comment by several unrelated repositories; GitHub itself could not be asked from here.
ACTIONS = {
    "checkout": ("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
    "setup-go": ("actions/setup-go", "4a3601121dd01d1626a1e23e37211e3254c1c06c", "v6.4.0"),
    "upload-artifact": ("actions/upload-artifact", "043fb46d1a93c77aae656e7c1c64a875d1fc6a0a", "v7.0.1"),
    "download-artifact": ("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
}
VARIABLES = ("REGISTRY", "DEPLOY_HOST", "DEPLOY_KNOWN_HOSTS", "MANAGER_IP")  # not secret: shown in logs
SECRETS = ("REGISTRY_USERNAME", "REGISTRY_PASSWORD", "DEPLOY_SSH_KEY")


@dataclass(frozen=True)
class Project:
    version: str  # goswarm's, pinned in the pipeline
    modules: tuple  # the services' Go module directories, relative to the repository ("." for its root)
    go: str  # the Go version for GitLab's image (GitHub reads it from the first module's go.mod)
    branch: str = "main"
    edge: bool = False  # a service in publish_mode: edge: the push job needs HAProxy (the edge image is made of it)


def uses(action: str) -> str:
    name, sha, tag = ACTIONS[action]
    return f"{name}@{sha} # {tag}"


def go_version(go_mod: str, fallback: str = "1.26") -> str:
    """major.minor of a go.mod's `go` line (the golang image's tag), else `fallback`."""
    for line in go_mod.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] == "go" and words[1][:1].isdigit():
            return ".".join(words[1].split(".")[:2])
    return fallback


def render(kind: str, project: Project) -> str:
    return github(project) if kind == "github" else gitlab(project)


def _install(indent: str) -> str:
    return (f"{indent}- name: goswarm (pinned to the version that wrote this file)\n"
            f"{indent}  run: |\n"
            f'{indent}    python3 -m venv "$RUNNER_TEMP/goswarm"\n'
            f'{indent}    "$RUNNER_TEMP/goswarm/bin/pip" install --quiet "goswarm==$GOSWARM_VERSION"\n'
            f'{indent}    echo "$RUNNER_TEMP/goswarm/bin" >> "$GITHUB_PATH"\n')


def _haproxy_step(p: Project) -> str:
    return ("      - name: HAProxy (goswarm's HTTP edge image is made of it)\n"
            "        run: command -v haproxy >/dev/null || (sudo apt-get update -qq && sudo apt-get install -y -qq "
            "haproxy)\n") if p.edge else ""


def _haproxy_line(p: Project) -> str:
    return ("    - command -v haproxy >/dev/null || apt-get install -y -qq haproxy  # the HTTP edge image is made of "
            "it\n") if p.edge else ""


def github(p: Project) -> str:
    checkout = f"      - uses: {uses('checkout')}\n        with:\n          persist-credentials: false\n"
    setup_go = (f"      - uses: {uses('setup-go')}\n        with:\n"
                f"          go-version-file: {_join(p.modules[0], 'go.mod')}\n")
    tests = "".join(f"      - name: go vet and go test ({module})\n        working-directory: {module}\n"
                    f"        run: go vet ./... && go test ./...\n" for module in p.modules)
    registry = ("          REGISTRY_USERNAME: ${{ secrets.REGISTRY_USERNAME }}\n"
                "          REGISTRY_PASSWORD: ${{ secrets.REGISTRY_PASSWORD }}\n")
    swarm = ("          DOCKER_HOST: ${{ vars.DEPLOY_HOST }}\n"
             "          MANAGER_IP: ${{ vars.MANAGER_IP }}\n")
    return f"""\
# goswarm's pipeline for this repository, written by `goswarm init --ci github` (goswarm {p.version}).
# test: go vet and go test on the services' Go modules, for every push and pull request.
# push ({p.branch} only): build the images, push them, and hand dist/release.json (their digests) to deploy.
# deploy ({p.branch} only): deploy exactly the release's digests to the swarm, then the smoke tests.
# Variables (Settings > Secrets and variables > Actions > Variables; no secrets, they show in logs):
#   REGISTRY (host:port the images are pushed to), DEPLOY_HOST (ssh://user@manager), DEPLOY_KNOWN_HOSTS (the
#   manager's `ssh-keyscan` line, checked by hand once), MANAGER_IP (where the published ports answer).
# Secrets (they reach the scripts only through env:): REGISTRY_USERNAME, REGISTRY_PASSWORD, DEPLOY_SSH_KEY.
# Actions are pinned by commit, the tag in a comment. To update goswarm, change GOSWARM_VERSION.
name: goswarm
on:
  push:
    branches: [{p.branch}]
  pull_request:

permissions:
  contents: read

concurrency:
  group: ${{{{ github.workflow }}}}-${{{{ github.event.pull_request.number || github.ref }}}}
  cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}

env:
  GOSWARM_VERSION: "{p.version}"
  GOSWARM_IMAGE_REGISTRY: ${{{{ vars.REGISTRY }}}}

jobs:
  test:
    name: go vet and go test
    runs-on: ubuntu-latest
    steps:
{checkout}{setup_go}{tests}
  push:
    name: build and push the images
    needs: test
    if: github.event_name == 'push'
    runs-on: ubuntu-latest
    steps:
{checkout}{setup_go}{_install("      ")}      - run: goswarm build
{_haproxy_step(p)}      - run: goswarm image.build
      - run: goswarm image.push
        env:
{registry}      - uses: {uses('upload-artifact')}
        with:
          name: release
          path: dist/release.json

  deploy:
    name: deploy the release
    needs: push
    runs-on: ubuntu-latest
    environment: production
    concurrency:
      group: production
      cancel-in-progress: false
    steps:
{checkout}{_install("      ")}      - uses: {uses('download-artifact')}
        with:
          name: release
          path: dist/
      - name: SSH access to the swarm manager (its host key pinned, never accepted blindly)
        env:
          DEPLOY_KNOWN_HOSTS: ${{{{ vars.DEPLOY_KNOWN_HOSTS }}}}
          DEPLOY_SSH_KEY: ${{{{ secrets.DEPLOY_SSH_KEY }}}}
        run: |
          install -m 700 -d ~/.ssh
          printf '%s\\n' "$DEPLOY_KNOWN_HOSTS" > ~/.ssh/known_hosts
          (umask 077 && printf '%s\\n' "$DEPLOY_SSH_KEY" > ~/.ssh/id_ed25519)
      - run: goswarm deploy --release dist/release.json
        env:
{swarm}{registry}      - run: goswarm deploy.smoke
        env:
{swarm}"""


def gitlab(p: Project) -> str:
    tests = "".join(f"    - (cd {module} && go vet ./... && go test ./...)\n" for module in p.modules)
    venv = '"${TMPDIR:-/tmp}/goswarm-$CI_JOB_ID"'  # outside the checkout: never in a build's sources or the cache
    install = (f'    - python3 -m venv {venv} && . {venv}/bin/activate\n'
               '    - pip install --quiet "goswarm==$GOSWARM_VERSION"\n')
    on_branch = f'  rules:\n    - if: $CI_COMMIT_BRANCH == "{p.branch}"\n'
    return f"""\
# goswarm's pipeline for this repository, written by `goswarm init --ci gitlab` (goswarm {p.version}).
# test: go vet and go test on the services' Go modules, for every push and merge request.
# build, push ({p.branch} only): compile, build and push the images, and hand dist/release.json (their digests)
#   to deploy. The push job needs a shell runner with Docker (tag: docker-host).
# deploy ({p.branch} only): deploy exactly the release's digests to the swarm, then the smoke tests.
# CI/CD variables (Settings > CI/CD > Variables):
#   visible, no secrets: REGISTRY (host:port), DEPLOY_HOST (ssh://user@manager), DEPLOY_KNOWN_HOSTS (the
#   manager's `ssh-keyscan` line, checked by hand once), MANAGER_IP (where the published ports answer);
#   masked and protected: REGISTRY_USERNAME, REGISTRY_PASSWORD, DEPLOY_SSH_KEY (type: file).
# To update goswarm, change GOSWARM_VERSION. (No job may be called `image`: GitLab's keyword.)
stages: [test, build, push, deploy]

workflow:
  auto_cancel:
    on_new_commit: interruptible

default:
  image: golang:{p.go}-bookworm
  cache:
    key: goswarm-$CI_COMMIT_REF_SLUG
    paths: [.cache/]

variables:
  GOSWARM_VERSION: "{p.version}"
  GOSWARM_IMAGE_REGISTRY: $REGISTRY
  GOMODCACHE: $CI_PROJECT_DIR/.cache/go-mod
  GOCACHE: $CI_PROJECT_DIR/.cache/go-build
  PIP_CACHE_DIR: $CI_PROJECT_DIR/.cache/pip

test:
  stage: test
  interruptible: true
  script:
{tests}
build:
  stage: build
{on_branch}  script:
    - apt-get update -qq && apt-get install -y -qq python3-venv
{install}    - goswarm build
  artifacts:
    paths: [dist/]

push:
  stage: push
  tags: [docker-host]
  needs: [build]
{on_branch}  script:
{install}{_haproxy_line(p)}    - goswarm image.build
    - goswarm image.push
  artifacts:
    paths: [dist/release.json]

deploy:
  stage: deploy
  image: python:3.12-bookworm
  needs: [push]
  resource_group: production
  environment: production
{on_branch}  script:
{install}    - install -m 700 -d ~/.ssh
    - printf '%s\\n' "$DEPLOY_KNOWN_HOSTS" > ~/.ssh/known_hosts
    - install -m 600 "$DEPLOY_SSH_KEY" ~/.ssh/id_ed25519
    - DOCKER_HOST="$DEPLOY_HOST" goswarm deploy --release dist/release.json
    - DOCKER_HOST="$DEPLOY_HOST" goswarm deploy.smoke
"""


def _join(module: str, name: str) -> str:
    return name if module in (".", "") else f"{module}/{name}"
