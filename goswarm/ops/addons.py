"""The blog's add-ons (the swarm visualizer, dvizz): images it did not build, deployed as it did, opt-in.

Each is an `image:` service from the `addons:` config. Both mount the Docker socket, which makes the
container root on its node: deploying one needs an explicit --allow-docker-socket, and the refusal
points at `goswarm viz`, which shows the swarm with no socket mounted anywhere.
"""
import json

from goswarm import program
from goswarm.errors import PipelineError
from goswarm.io import engine, engineapi
from goswarm.ops import deploy, external, rollout, swarm
from goswarm.plan import config, output, report, servicespec


def service_of(cfg, name: str) -> config.Service:
    raw = cfg.addons.get(name)
    if raw is None:
        raise PipelineError(f"unknown add-on {name!r}; known: {', '.join(sorted(cfg.addons)) or 'none'} (addons: in "
                            f"the config)")
    service = config.parse_service(name, raw, cfg.root, section="addons")
    if service.built:
        raise PipelineError(f"addons.{name} needs an image: an add-on is deployed as it is, never built")
    return service


def socket_refusal(service: config.Service) -> str:
    """The one line for a socket mount without the opt-in. Pure."""
    return (f"{service.name} mounts the Docker socket, which makes it root on the node it runs on; pass "
            f"--allow-docker-socket to deploy it anyway, or run {program.run('viz')} instead: it shows the swarm "
            f"from your side, with no socket mounted anywhere")


def socket_warning(service: config.Service) -> str:
    where = " and ".join(service.constraints) or "any node"
    port = f", or reaches its port {service.publish}," if service.publish else ""
    return (f"warning: {service.name} mounts the Docker socket: whoever controls the container{port} is root on the "
            f"node it runs on ({where})")


def deploy_addon(sh, cfg, name: str, allow_docker_socket: bool = False) -> None:
    """Create or update the add-on's service from its image, as the blog does; --dry prints its spec."""
    service = service_of(cfg, name)
    if service.mounts_docker_socket:
        if not allow_docker_socket:
            raise PipelineError(socket_refusal(service))
        print(socket_warning(service))
    images = external.resolve_all(sh, cfg, [service], "addons")
    if sh.dry:
        print(f"[dry] {name} would run as this service spec:")
        print(json.dumps(spec(cfg, service, images[name]), indent=2))
    deploy.run(sh, cfg, [service], images, what=f"addons.deploy {name}")  # holds the lock when it changes something
    if not sh.dry and service.publish:
        print(f"{name}: http://{cfg.manager_ip}:{service.publish}/")


def spec(cfg, service: config.Service, image) -> dict:
    client = engine.client(cfg.target_url)
    return servicespec.desired(service, image.deploy_ref, image.ref, swarm.network_id(client, cfg.network),
                               image_check=image.healthcheck, project=cfg.project,
                               networks=swarm.extra_networks(client, service))


def remove(sh, cfg, name: str) -> None:
    deploy.remove(sh, cfg, [service_of(cfg, name)])


def listing(cfg, as_json: bool = False) -> str:
    """Every add-on in the config: its image, port, socket mount, and whether (and how much of it) runs."""
    client = engine.client(cfg.target_url)
    rows = []
    for name in sorted(cfg.addons):
        service = service_of(cfg, name)
        current = rollout.inspect(client, name)
        state = "not deployed"
        if current is not None:
            with engine.errors(f"reading service {name}"):
                status = engineapi.service_status(client, current["ID"])
            state = f"{status.get('RunningTasks', '?')}/{status.get('DesiredTasks', '?')} running"
        rows.append((name, service.image, service.publish or "-", "yes" if service.mounts_docker_socket else "no",
                     state))
    if as_json:
        return report.dumps([{"addon": name, "image": image, "port": None if port == "-" else port,
                              "docker_socket": socket == "yes", "state": state}
                             for name, image, port, socket, state in rows])
    return output.table(rows, ("ADDON", "IMAGE", "PORT", "DOCKER SOCKET", "STATE"))
