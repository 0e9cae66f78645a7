"""The release file: what a build/push stage hands to a deploy stage, so the deploy runs exactly what was pushed.

    {"version": 1,
     "services": {"accountservice": {
         "image": "reg:5000/pfx/accountservice",                  # the repository, as pushed
         "tag": "3f9c0a1b2c4d",                                     # the content key it was pushed under
         "digest": "reg:5000/pfx/accountservice@sha256:…",         # what services reference (an index when
                                                                    # several platforms)
         "platforms": {"linux/amd64": "sha256:…"},                 # each platform's image manifest
         "source_hash": "…", "revision": "1a2b3c4" | null,
         "healthcheck": {"Test": [...], …} | null}}}               # the image's own HEALTHCHECK, so a deploy
                                                                    # needs no local image to know it

Every service the push covers has an entry, the edge proxy (`goswarm-edge`) included when a service is in
`publish_mode: edge`. Pure: parse() takes the file's text and raises a one-line ReleaseError.
"""
import json
import re
from dataclasses import dataclass, field
from typing import Optional

from goswarm.errors import ConfigError

VERSION = 1
FILE = "release.json"  # under build.dist, unless --release-file says otherwise
_SHA = re.compile(r"^sha256:[0-9a-f]{64}$")
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9]+(/[a-z0-9]+)?$")
_REPO = re.compile(r"^[a-z0-9][a-z0-9._:/-]*$")  # [host[:port]/]path, lower case as the engine wants
_FIELDS = {"image", "tag", "digest", "platforms", "source_hash", "revision", "healthcheck"}


class ReleaseError(ConfigError):
    """A release file that cannot be read or does not say what a deploy needs."""


@dataclass(frozen=True)
class Entry:
    image: str  # the repository
    digest: str  # image@sha256:…: what the services reference
    platforms: dict = field(default_factory=dict)  # "os/arch" -> "sha256:…"
    tag: str = ""
    source_hash: str = ""
    revision: Optional[str] = None
    healthcheck: Optional[dict] = None

    @property
    def sha(self) -> str:
        return self.digest.rpartition("@")[2]

    @property
    def ref(self) -> str:
        """repo:tag@sha256:…, as a pushed image is referenced elsewhere (the tag says which build it is)."""
        return f"{self.image}:{self.tag}@{self.sha}" if self.tag else self.digest


def dumps(entries: dict) -> str:
    """The file's text for {service name: Entry}: sorted, stable, so an unchanged push writes the same bytes."""
    services = {}
    for name, entry in sorted(entries.items()):
        services[name] = {"image": entry.image, "tag": entry.tag, "digest": entry.digest,
                          "platforms": dict(sorted(entry.platforms.items())), "source_hash": entry.source_hash,
                          "revision": entry.revision, "healthcheck": entry.healthcheck}
    return json.dumps({"version": VERSION, "services": services}, indent=2, sort_keys=False) + "\n"


def parse(text: str, where: str = FILE) -> dict:
    """{service name: Entry} from a release file's text, or one ReleaseError line naming what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ReleaseError(f"{where} is not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("services"), dict):
        raise ReleaseError(f"{where} has no `services` mapping: is it a release file written by image.push?")
    if data.get("version", VERSION) != VERSION:
        raise ReleaseError(f"{where} is release file version {data.get('version')!r}; this goswarm reads "
                           f"version {VERSION}")
    if not data["services"]:
        raise ReleaseError(f"{where} names no service")
    return {str(name): _entry(f"{where}: services.{name}", raw) for name, raw in data["services"].items()}


def _entry(where: str, raw) -> Entry:
    if not isinstance(raw, dict):
        raise ReleaseError(f"{where} must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ReleaseError(f"{where}.{unknown[0]} is not a release field (known: {', '.join(sorted(_FIELDS))})")
    image = raw.get("image")
    if not isinstance(image, str) or not _REPO.match(image) or "@" in image:
        raise ReleaseError(f"{where}.image must be a repository like registry:5000/prefix/name, got {image!r}")
    digest = raw.get("digest")
    if not isinstance(digest, str) or digest.rpartition("@")[0] != image or not _SHA.match(digest.rpartition("@")[2]):
        raise ReleaseError(f"{where}.digest must be {image}@sha256:<64 hex digits>, got {digest!r}")
    platforms = raw.get("platforms") or {}
    if not isinstance(platforms, dict):
        raise ReleaseError(f"{where}.platforms must map os/arch to sha256:…, got {type(platforms).__name__}")
    for platform, sha in platforms.items():
        if not _PLATFORM.match(str(platform)) or not isinstance(sha, str) or not _SHA.match(sha):
            raise ReleaseError(f"{where}.platforms: {platform!r}: {sha!r} is not os/arch: sha256:<64 hex digits>")
    tag, source_hash, revision = raw.get("tag") or "", raw.get("source_hash") or "", raw.get("revision")
    for name, value in (("tag", tag), ("source_hash", source_hash)):
        if not isinstance(value, str):
            raise ReleaseError(f"{where}.{name} must be a string, got {value!r}")
    if revision is not None and not isinstance(revision, str):
        raise ReleaseError(f"{where}.revision must be a git revision or null, got {revision!r}")
    check = raw.get("healthcheck")
    if check is not None and not (isinstance(check, dict) and isinstance(check.get("Test"), list)
                                  and all(isinstance(w, str) for w in check["Test"])):
        raise ReleaseError(f"{where}.healthcheck must be null or the image's Healthcheck ({{\"Test\": [...]}}), "
                           f"got {check!r}")
    return Entry(image, digest, dict(platforms), tag, source_hash, revision, check)


def check_repositories(entries: dict, names: list, repository) -> None:
    """Each named entry's image must be the repository the config gives its service (repository(name)): a
    release file edited to point a service at another repository's image is refused. Pure."""
    for name in names:
        entry, expected = entries[name], repository(name)
        if entry.image != expected:
            raise ReleaseError(f"the release's image for {name} is {entry.image}, not {name}'s repository "
                               f"{expected}: a release deploys only the images goswarm pushed for its services; "
                               f"nothing was changed")


def to_deploy(entries: dict, configured: list, wanted: Optional[list], needs_edge, edge: str) -> list:
    """The configured services a release deploys: the ones it names (or `wanted`, the names --service gave,
    all of which it must name), each with an entry, and the edge's entry when one of them needs it.
    configured: the names in the config; needs_edge(name): is that service in publish_mode edge. Pure."""
    apps = [n for n in entries if n != edge]
    strangers = [n for n in apps if n not in configured]
    if strangers:
        raise ReleaseError(f"the release names {strangers[0]}, which is no service in the config")
    names = list(wanted) if wanted is not None else [n for n in configured if n in apps]
    missing = [n for n in names if n not in entries]
    if missing:
        raise ReleaseError(f"the release has no entry for {missing[0]}: push it with image.push first")
    if any(needs_edge(n) for n in names) and edge not in entries:
        raise ReleaseError(f"the release has no entry for {edge}, which publish_mode: edge needs: write the "
                           f"release with this goswarm's image.push")
    return names
