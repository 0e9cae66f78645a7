"""Docker secrets and configs on a real engine: a value from the environment and one from a file reach the task
at /run/secrets/NAME, a config at its target; a new value is a new object and an update, the object before the
previous one is removed once the rollout succeeds, and a rollback finds its own still there. The canary values
appear in no output, service spec, compose file or file goswarm wrote; a missing one is one line."""
import json
import uuid
from pathlib import Path

from helpers import SUFFIX, assert_one_line_error, wait_for


def task_file(engine, name: str, path: str, expected: str) -> str:
    """The file's text as the service's running task sees it (through its process's root, /proc/PID/root: the
    engine's archive API does not see a task's secrets mount), once it is `expected`."""
    def read():
        for container in engine.containers.list(filters={"label": f"com.docker.swarm.service.name={name}"}):
            try:
                text = Path(f"/proc/{container.attrs['State']['Pid']}/root{path}").read_text()
            except OSError:  # a task that is starting or stopping: try the next poll
                continue
            if text == expected:
                return text
        return None
    return wait_for(read, 60, f"{path} of {name} to be {expected!r}")


def objects(engine, name: str) -> list:
    mine = {"label": f"io.goswarm.service={name}"}
    return sorted(o.name for o in engine.secrets.list(filters=mine)) + sorted(
        o.name for o in engine.configs.list(filters=mine))


def test_secrets_and_configs_reach_the_task_and_their_values_no_output(swarm, engine):
    canaries = [f"canary-{uuid.uuid4().hex}" for _ in range(4)]
    key_file, config_file = swarm.tmp / "tls.key", swarm.tmp / "app.yaml"
    key_file.write_text(canaries[0])
    config_file.write_text("greeting: hello\n")
    name = swarm.add_service("quotes-service", "-secret", port=8080, secrets={
        "api_key": {"env": f"IT_API_KEY_{SUFFIX}"}, "tls_key": {"file": str(key_file)}},
        configs={"app": {"file": str(config_file), "target": "/etc/app.yaml"}})
    variable = f"IT_API_KEY_{SUFFIX}"
    try:
        missing = swarm.inv("redeploy", "--service", name, check=False)
        assert_one_line_error(missing, f"services.{name}.secrets.api_key: {variable} is not set")
        assert swarm.service(name) is None and objects(engine, name) == []

        swarm.inv("redeploy", "--dry", "--service", name, env={variable: canaries[1]})
        assert objects(engine, name) == []  # --dry makes nothing
        first = swarm.inv("redeploy", "--service", name, env={variable: canaries[1]})
        assert f"create secret {name}_api_key_" in first.stdout and f"create config {name}_app_" in first.stdout
        assert task_file(engine, name, "/run/secrets/api_key", canaries[1]) == canaries[1]
        assert task_file(engine, name, "/run/secrets/tls_key", canaries[0]) == canaries[0]
        assert task_file(engine, name, "/etc/app.yaml", "greeting: hello\n")
        made = objects(engine, name)
        assert len(made) == 3

        again = swarm.inv("redeploy", "--service", name, env={variable: canaries[1]})
        assert f"{name}: no change" in again.stdout and objects(engine, name) == made

        second = swarm.inv("redeploy", "--service", name, env={variable: canaries[2]})
        assert f"update service {name}" in second.stdout and "secrets" in second.stdout
        assert task_file(engine, name, "/run/secrets/api_key", canaries[2])
        assert len(objects(engine, name)) == 4  # the previous one stays: a rollback puts it back

        swarm.inv("redeploy", "--service", name, env={variable: canaries[3]})
        assert task_file(engine, name, "/run/secrets/api_key", canaries[3])
        left = objects(engine, name)
        assert len(left) == 4 and not set(made) - set(left) - {o for o in made if "_api_key_" in o}
        assert not [o for o in made if "_api_key_" in o and o in left]  # the first value's object is gone

        swarm.inv("deploy.rollback", "--service", name, env={variable: canaries[3]})
        assert task_file(engine, name, "/run/secrets/api_key", canaries[2])  # its object was kept for this

        compose = swarm.tmp / "stack.yml"
        swarm.inv("stack.export", "--service", name, "--output", str(compose), env={variable: canaries[3]})
        assert f"{name}_api_key_" in compose.read_text()

        spec = json.dumps(swarm.service(name))
        written = [p.read_bytes() for p in swarm.tmp.rglob("*") if p.is_file() and p not in (key_file,)]
        for canary in canaries[1:] + [canaries[0]]:
            assert canary not in spec
            assert not [out for out in swarm.all_output if canary in out]
            assert not [data for data in written if canary.encode() in data]

        swarm.inv("deploy.rm", "--service", name)
        assert objects(engine, name) == []  # the service is gone, and so are its objects
    finally:
        for found in engine.services.list(filters={"name": name}):
            found.remove()
        wait_for(lambda: not engine.containers.list(all=True, filters={
            "label": f"com.docker.swarm.service.name={name}"}), 60, "its tasks to go")
        for collection in (engine.secrets, engine.configs):
            for found in collection.list(filters={"label": f"io.goswarm.service={name}"}):
                found.remove()
