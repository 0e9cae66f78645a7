"""A service's tuning keys on a real engine: resources, command and args, labels, a named volume, an extra
network, a placement preference, stop grace and signal, health timing and update config reach the running
container as the engine applies them; a second redeploy changes nothing, and an edit of one is an update."""
from helpers import SUFFIX, wait_for


def running_container(engine, name):
    def one():
        found = engine.containers.list(filters={"label": f"com.docker.swarm.service.name={name}",
                                                "health": "healthy"})
        return found[0] if len(found) == 1 else None
    return wait_for(one, 60, f"one healthy task of {name}")


def test_the_tuning_keys_reach_the_running_container(swarm, engine):
    extra, volume = f"it-extra-{SUFFIX}", f"it-vol-{SUFFIX}"
    network = engine.networks.create(extra, driver="overlay", attachable=True)
    try:
        name = swarm.add_service(
            "quotes-service", "-tuned", port=8080,
            resources={"limits": {"cpus": 0.5, "memory": "128M"}, "reservations": {"memory": "16M"}},
            command=["/service"], args=["-healthcheck=false"], labels={"team": "quotes"},
            volumes=[f"{volume}:/data:ro"], networks=[extra], preferences=[{"spread": "node.labels.zone"}],
            stop_grace_period="3s", stop_signal="SIGINT", update={"parallelism": 2, "monitor": "2s"},
            healthcheck={"http": "/health", "interval": "1s", "retries": 2})
        swarm.inv("redeploy", "--service", name)

        container = running_container(engine, name).attrs
        host = container["HostConfig"]
        assert (host["Memory"], host["NanoCpus"]) == (128 << 20, 500_000_000)  # reservations: for the scheduler
        assert container["Config"]["Entrypoint"] == ["/service"] and container["Config"]["Cmd"] == [
            "-healthcheck=false"]
        assert container["Config"]["StopSignal"] == "SIGINT"
        assert container["Config"]["Healthcheck"]["Interval"] == 1_000_000_000
        assert container["Config"]["Healthcheck"]["Retries"] == 2
        assert [(m["Type"], m["Name"], m["Destination"], m["RW"]) for m in container["Mounts"]] == [
            ("volume", volume, "/data", False)]
        assert network.id in container["NetworkSettings"]["Networks"][extra]["NetworkID"]
        spec = swarm.service(name)["Spec"]
        assert spec["Labels"]["team"] == "quotes"
        assert spec["TaskTemplate"]["Resources"]["Reservations"] == {"MemoryBytes": 16 << 20}
        assert spec["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == 3_000_000_000  # the engine's own stop
        assert spec["TaskTemplate"]["Placement"]["Preferences"] == [
            {"Spread": {"SpreadDescriptor": "node.labels.zone"}}]
        assert (spec["UpdateConfig"]["Parallelism"], spec["UpdateConfig"]["Monitor"]) == (2, 2_000_000_000)
        address = container["NetworkSettings"]["Networks"][extra]["IPAddress"]
        assert address  # on the extra network too, where its name resolves for other services

        again = swarm.inv("redeploy", "--service", name)
        assert f"{name}: no change" in again.stdout, again.stdout

        swarm.config["services"][name]["resources"]["limits"]["memory"] = "96M"
        edited = swarm.inv("redeploy", "--service", name)
        assert f"update service {name}" in edited.stdout and "resources" in edited.stdout, edited.stdout
        assert wait_for(lambda: running_container(engine, name).attrs["HostConfig"]["Memory"] == 96 << 20 or None,
                        60, "the new limit")
    finally:
        for service in engine.services.list(filters={"name": f"it{SUFFIX}-quotes-tuned"}):
            service.remove()
        wait_for(lambda: not engine.containers.list(all=True, filters={
            "label": f"com.docker.swarm.service.name=it{SUFFIX}-quotes-tuned"}), 60, "its tasks to go")
        network.remove()
        for found in engine.volumes.list(filters={"name": volume}):
            found.remove(force=True)
