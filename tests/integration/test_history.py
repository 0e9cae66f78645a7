"""The release history on a real engine: each deploy that changes something adds an entry on the swarm; a no-op
adds none; `deploy.rollback --to 2` runs the release two back (the previous spec is only one back), and a
history too short is one line."""
from goswarm.ops import history
from helpers import assert_one_line_error, edit, free_port, http_get, running_image, wait_for


def releases(engine, swarm, name: str) -> list:
    project = swarm.service(name)["Spec"]["Labels"]["io.goswarm.project"]
    return [r["runs"] for r in history.plan.releases_of(history.read(engine, project), name)]


def test_rollback_to_n_releases_back(swarm, engine):
    port = free_port()
    name = swarm.add_service("quotes-service", "-history", port=8080, publish=port, publish_mode="edge")
    swarm.names.append(f"{name}-edge")
    runs = []
    for old, new in (('"UP"', '"UP1"'), ('"UP1"', '"UP2"'), ('"UP2"', '"UP3"')):
        edit(swarm, "quotes-service", old, new)
        swarm.inv("redeploy", "--service", name)
        runs.append(running_image(swarm, name))
    assert len(set(runs)) == 3 and releases(engine, swarm, name) == runs[::-1]
    swarm.inv("redeploy", "--service", name)  # no change: no entry
    assert releases(engine, swarm, name) == runs[::-1]

    back = swarm.inv("deploy.rollback", "--service", name, "--to", "2")
    assert f"{name}: 2 release(s) back is " in back.stdout, back.stdout
    assert running_image(swarm, name) == runs[0]
    assert wait_for(lambda: "UP1" in http_get(f"http://127.0.0.1:{port}/health") or None, 30, "the first release")
    too_far = swarm.inv("deploy.rollback", "--service", name, "--to", "9", check=False)
    assert_one_line_error(too_far, f"{name} has 2 earlier release(s) in the history, so it cannot go 9 back")
    assert running_image(swarm, name) == runs[0]
