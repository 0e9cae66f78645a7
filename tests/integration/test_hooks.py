"""hooks: on a real engine, pre-deploy runs before any service changes (one that fails stops the run with
nothing changed), post-deploy once the rollouts went through; both get the GOSWARM_* variables; a deploy that
changes nothing runs neither."""
from helpers import assert_one_line_error, edit, running_image, version


def seen(path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line.startswith("GOSWARM_"))


def test_hooks_run_around_a_deploy_that_changes_something(swarm):
    name = swarm.add_service("quotes-service", "-hooked", port=8080)
    pre, post = swarm.tmp / "pre.env", swarm.tmp / "post.env"
    swarm.config["hooks"] = {"pre-deploy": [f"env > {pre}"], "post-deploy": f"env > {post}"}
    first = swarm.inv("redeploy", "--service", name)
    assert f"-> pre-deploy hook: env > {pre}" in first.stdout
    before = seen(pre)
    assert before["GOSWARM_HOOK"] == "pre-deploy" and before["GOSWARM_SERVICES"] == name
    assert seen(post)["GOSWARM_HOOK"] == "post-deploy"
    assert seen(post)["GOSWARM_PROJECT"] == swarm.service(name)["Spec"]["Labels"]["io.goswarm.project"]
    runs = running_image(swarm, name)
    assert f"{name}={runs}" in post.read_text()  # GOSWARM_DIGESTS: what the spec runs

    pre.unlink(), post.unlink()
    swarm.inv("redeploy", "--service", name)  # no change: no hook
    assert not pre.exists() and not post.exists()

    swarm.config["hooks"]["pre-deploy"] = ["echo migrating", "exit 3"]
    edit(swarm, "quotes-service", '"Clear is better', '"Clearer is better')
    at = version(swarm, name)
    refused = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(refused, "the pre-deploy hook `exit 3` exited 3; nothing was deployed")
    assert "migrating" in refused.stdout and version(swarm, name) == at

    swarm.config["hooks"] = {"pre-deploy": [], "post-deploy": ["exit 4"]}
    late = swarm.inv("redeploy", "--service", name, check=False)
    assert_one_line_error(late, "the post-deploy hook `exit 4` exited 4; the deploy itself went through")
    assert version(swarm, name) > at and running_image(swarm, name) != runs
