"""Manifest lists (an OCI image index, or Docker's manifest list): what the registry and the docker CLI say
about them. Pure."""
import ipaddress
import re

LIST_TYPES = ("application/vnd.docker.distribution.manifest.list.v2+json",
              "application/vnd.oci.image.index.v1+json")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def is_list(descriptor: dict) -> bool:
    """Does a distribution inspect's Descriptor name a manifest list?"""
    return (descriptor or {}).get("mediaType") in LIST_TYPES


def pushed_digest(output: str) -> str:
    """The digest `docker manifest push` printed last, or ""."""
    found = _DIGEST.findall(output or "")
    return found[-1] if found else ""


def insecure(host: str, registry_config: dict) -> bool:
    """Does the engine treat this registry (host[:port]) as insecure (plain HTTP allowed), from its
    `docker info` RegistryConfig? The docker CLI's manifest commands must then be told so (--insecure):
    an address in InsecureRegistryCIDRs (loopback is, by default) or an IndexConfigs entry with Secure false."""
    config = registry_config or {}
    entry = (config.get("IndexConfigs") or {}).get(host)
    if entry is not None:
        return not entry.get("Secure", True)
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = "127.0.0.1" if name == "localhost" else name.strip("[]")
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr, strict=False)
               for cidr in config.get("InsecureRegistryCIDRs") or [])
