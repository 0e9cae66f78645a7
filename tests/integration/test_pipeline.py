"""The spine end to end on a real engine: build -> image -> swarm -> deploy -> change -> redeploy -> rm."""
import json
import os
import signal
import socket
import stat
import subprocess

from helpers import ROOT, free_port, get_in_container, http_get, httpget_image, service_images, wait_for


def test_redeploy_update_and_rm(project, engine):
    port = free_port()
    name = project.add_service("accountservice", port=6767, publish=port, smoke="/accounts/10000")

    first = project.inv("swarm.init")
    second = project.inv("swarm.init")
    assert "no change" in second.output and "created" not in second.output
    assert f"network {project.network}: exists, no change" in second.output
    assert engine.info()["Swarm"]["LocalNodeState"] == "active"
    tokens = project.tmp / "swarm" / "join-tokens-local.json"
    assert stat.S_IMODE(os.stat(tokens).st_mode) == 0o600
    secrets = json.loads(tokens.read_text()).values()
    for out in (first.output, second.output):
        assert not any(token in out for token in secrets)

    deployed = project.inv("redeploy", "--service", name)
    assert f"create service {name}" in deployed.output
    for stage in ("build", "image", "deploy", "smoke", "total"):
        assert stage in deployed.output
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000") == '{"id":"10000","name":"Person_0"}\n'
    service = project.service(name)
    image = engine.images.get(service["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"])
    assert image.labels["io.goswarm.service"] == name
    assert len(image.labels["io.goswarm.source-hash"]) == 64
    assert any(tag.startswith(f"it/{name}:") for tag in image.tags) and f"it/{name}:latest" in image.tags

    unchanged = project.inv("redeploy", "--service", name)
    assert f"{name}: no change" in unchanged.output
    assert project.service(name)["Version"] == service["Version"]

    main_go = project.source("accountservice")
    main_go.write_text(main_go.read_text().replace('"Person_"', '"Updated_"'))
    project.inv("redeploy", "--service", name)
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000") == '{"id":"10000","name":"Updated_0"}\n'
    updated = project.service(name)
    assert updated["ID"] == service["ID"], "an update must not replace the service"
    assert updated["Version"]["Index"] > service["Version"]["Index"]

    main_go.write_text(main_go.read_text().replace('"Updated_"', '"Person_"'))
    back = project.inv("redeploy", "--service", name)
    assert "up to date" in back.output and "as latest" in back.output  # the earlier image, reused
    assert engine.images.get(f"it/{name}:latest").id == image.id
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000") == '{"id":"10000","name":"Person_0"}\n'

    ps = project.inv("deploy.ps", "--service", name)
    assert "running" in ps.output and "shutdown" in ps.output
    logs = project.inv("deploy.logs", "--service", name)
    assert "Seeded 100 fake accounts" in logs.output
    status = project.inv("swarm.status")
    assert name in status.output and "1/1" in status.output

    project.inv("deploy.rm", "--service", name)
    assert project.service(name) is None
    with socket.socket() as s:  # rm returns once the task has stopped: its port is free again
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # our own requests leave TIME_WAITs
        s.bind(("0.0.0.0", port))
    assert "not deployed, no change" in project.inv("deploy.rm", "--service", name).output


def test_scale(swarm, engine):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.inv("redeploy", "--service", name)
    swarm.inv("deploy.scale", "--service", name, "--replicas", "2")
    running = [t for t in engine.api.tasks(filters={"service": name, "desired-state": "running"})
               if t["Status"]["State"] == "running"]
    assert len(running) == 2
    assert "already 2 replicas, no change" in swarm.inv("deploy.scale", "--service", name, "--replicas", "2").output


def test_quotes_service_answers_on_the_overlay_network(swarm, engine, tmp_path):
    name = swarm.add_service("quotes-service", port=8080)
    swarm.inv("redeploy", "--service", name)
    client = httpget_image(engine, tmp_path, "it/httpget:test")
    body = wait_for(lambda: get_in_container(engine, client, f"http://{name}:8080/api/quote", swarm.network),
                    30, "a quote over the overlay network")
    quote = json.loads(body)
    assert quote["quote"] and quote["author"]


def test_image_run_serves_until_ctrl_c(project, engine):
    name = project.add_service("accountservice", port=6767)
    project.inv("build", "--service", name)
    port = free_port()
    proc = subprocess.Popen(project.argv("image.run", "--service", name, "--port", str(port)), cwd=ROOT,
                            env=project.environ(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        body = wait_for(lambda: http_get(f"http://127.0.0.1:{port}/accounts/10001"), 30, "image.run to answer")
        assert body == '{"id":"10001","name":"Person_1"}\n'
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert f"answering on http://127.0.0.1:{port}" in out
    assert not engine.containers.list(all=True, filters={"ancestor": f"it/{name}:latest"})


def test_dry_run_changes_nothing(swarm, engine):
    name = swarm.add_service("accountservice", port=6767, publish=free_port(), smoke="/health")
    images_before = service_images(engine, name)
    result = swarm.inv("redeploy", "--service", name, dry=True)
    assert "go build" in result.output and f"[dry] would create service {name}" in result.output
    assert "[dry] would GET" in result.output
    assert swarm.service(name) is None
    assert not (swarm.tmp / "dist").exists()
    assert service_images(engine, name) == images_before


def test_images_are_imported_when_the_dockerfile_only_copies_and_built_otherwise(swarm, engine):
    port = free_port()
    name = swarm.add_service("accountservice", port=6767, publish=port, smoke="/accounts/10000")
    main_go = swarm.source("accountservice")  # a binary no earlier test built, so a new image
    main_go.write_text(main_go.read_text().replace('"Person_"', f'"Imported{os.getpid()}_"'))
    result = swarm.inv("redeploy", "--service", name)
    assert "imported: the Dockerfile only copies the binary" in result.output
    imported = engine.images.get(f"it/{name}:latest")
    assert imported.attrs["Config"]["User"] == "65534:65534" and imported.attrs["Config"]["Entrypoint"] == ["/service"]
    assert imported.labels["io.goswarm.service"] == name
    # A Dockerfile of the service's own that the import cannot express goes to the engine's builder.
    (swarm.tmp / "src" / "accountservice" / "Dockerfile").write_text(
        'FROM scratch\nARG BINARY\nCOPY --chown=65534:65534 ${BINARY} /service\nUSER 65534:65534\n'
        'ENTRYPOINT ["/service"]\n')
    result = swarm.inv("redeploy", "--service", name)
    assert "imported: the Dockerfile" not in result.output and f"built it/{name}:" in result.output
    built = engine.images.get(f"it/{name}:latest")
    assert built.id != imported.id and built.labels["io.goswarm.service"] == name
    assert http_get(f"http://127.0.0.1:{port}/accounts/10000") == f'{{"id":"10000","name":"Imported{os.getpid()}_0"}}\n'
