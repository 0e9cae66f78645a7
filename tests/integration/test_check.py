"""`goswarm check` on a real engine: a project that would deploy says ok line by line and exits 0; one with
problems names each on its own line (a secret that is not set, a network that does not exist, a placement no
node meets, a base image the engine lacks) and exits 1, changing nothing."""
from helpers import SUFFIX


def test_check_names_every_problem_and_changes_nothing(swarm, engine):
    good = swarm.add_service("quotes-service", "-ok", port=8080)
    fine = swarm.inv("check", "--service", good)
    assert f"ok: {good}: not deployed yet; can be placed" in fine.stdout
    assert fine.stdout.rstrip().endswith("check: no problem found; nothing was changed")

    secret = swarm.add_service("quotes-service", "-secret", port=8080, secrets={"k": {"env": f"NOT_SET_{SUFFIX}"}})
    lost = swarm.add_service("quotes-service", "-lost", port=8080, networks=[f"it-none-{SUFFIX}"])
    mars = swarm.add_service("quotes-service", "-mars", port=8080, constraints=["node.labels.zone==mars"])
    based = swarm.add_service("quotes-service", "-based", port=8080)
    dockerfile = swarm.tmp / "src" / "quotes-service" / "Dockerfile.based"
    dockerfile.write_text(f"FROM it-absent-{SUFFIX}:1\nCOPY quotes-service /service\nENTRYPOINT [\"/service\"]\n")
    swarm.config["services"][based]["dockerfile"] = str(dockerfile)
    found = swarm.inv("check", "--service", ",".join((good, secret, lost, mars, based)), check=False)
    problems = [line for line in found.stdout.splitlines() if line.startswith("problem:")]
    assert found.returncode == 1 and found.stderr.strip() == "error: check found 4 problem(s); nothing was changed"
    assert any(f"services.{secret}.secrets.k: NOT_SET_{SUFFIX} is not set" in p for p in problems), problems
    assert any(f"services.{lost}.networks: there is no network it-none-{SUFFIX}" in p for p in problems), problems
    assert any(p.startswith(f"problem: {mars}: ") and "node.labels.zone==mars" in p for p in problems), problems
    assert any(f"needs it-absent-{SUFFIX}:1, which this engine does not have" in p for p in problems), problems
    assert "Traceback" not in found.output
    for name in (good, secret, lost, mars, based):
        assert swarm.service(name) is None  # nothing was deployed
