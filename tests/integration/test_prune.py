"""`goswarm prune` on a real engine: after five releases of a service, --dry removes nothing; prune --keep 1
keeps the newest image and the one its previous spec runs (so a rollback still works), removes the rest and the
service's dead task containers, and another project's images are not touched."""
from helpers import edit


def images_of(engine, repository: str) -> set:
    return {i.id for i in engine.images.list(name=repository)}


def dead_tasks(engine, name: str) -> list:
    return [c for c in engine.containers.list(all=True, filters={"label": f"com.docker.swarm.service.name={name}"})
            if c.status in ("exited", "dead", "created")]


def test_prune_keeps_what_runs_and_what_a_rollback_needs(swarm, engine):
    name = swarm.add_service("quotes-service", "-pruned", port=8080)
    repository = f"{swarm.config['image']['prefix']}/{name}"
    swarm.inv("redeploy", "--service", name)
    for n in range(4):
        edit(swarm, "quotes-service", f'"Clear is better{"!" * n}', f'"Clear is better{"!" * (n + 1)}')
        swarm.inv("redeploy", "--service", name)
    assert len(images_of(engine, repository)) == 5 and dead_tasks(engine, name)

    dry = swarm.inv("prune", "--service", name, "--keep", "1", dry=True)
    assert "[dry] would remove image" in dry.stdout and len(images_of(engine, repository)) == 5

    done = swarm.inv("prune", "--service", name, "--keep", "1")
    assert "prune: removed 3 image(s)" in done.stdout, done.stdout
    spec = swarm.service(name)
    kept = images_of(engine, repository)
    assert kept == {spec["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"],
                    spec["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"]}
    assert dead_tasks(engine, name) == []
    swarm.inv("deploy.rollback", "--service", name)  # its image is still there
    assert swarm.service(name)["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"] == \
        spec["PreviousSpec"]["TaskTemplate"]["ContainerSpec"]["Image"]
