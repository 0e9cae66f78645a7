"""The one Docker client factory, and the edge where docker SDK errors become PipelineErrors.

The engine is the one the docker CLI would use (io.endpoint: DOCKER_HOST, DOCKER_CONTEXT, the current
context, with their TLS), or a machine's ssh:// URL. docker (and with it paramiko) is imported here, lazily,
so listing the tasks stays cheap.
"""
import contextlib
import functools
import re
import warnings
from typing import Optional
from urllib.parse import urlparse

from goswarm import program
from goswarm.errors import ConfigError, PipelineError
from goswarm.io import environment
from goswarm.io.endpoint import Endpoint

TIMEOUT = 60


class EngineLost(PipelineError):
    """The engine stopped answering in the middle of a command: what it was doing may be half done."""


def sdk():
    """The docker SDK module (it imports paramiko and cryptography with it, for its ssh:// transport)."""
    import docker

    return docker


def client(url: str = None, lane: int = 0):
    """A DockerClient for `url`, by default the engine the docker CLI would use. It contacts the engine here,
    once per engine and process: `client()` and `client(<that engine's URL>)` are the same client. lane > 0:
    another client of the same engine, with a connection of its own (over SSH, sshd limits the channels one
    connection carries: MaxSessions, 10 by default), made once per lane.

    The TLS settings of DOCKER_HOST or of a context belong to that engine's URL. ssh:// engines go through
    io.ssh: ~/.ssh/config, known host keys only, and a machine's own key.
    """
    return _client(_endpoint(url), lane)


def forget_clients() -> None:
    """Drop the clients made so far (an engine that was restarted or a machine that was removed)."""
    _client.cache_clear()
    _versions.clear()
    _logged_in.clear()  # keyed by id(client): a new client may reuse an old one's id


@functools.cache
def _client(endpoint: Endpoint, lane: int = 0):
    docker = sdk()
    try:
        if urlparse(endpoint.url).scheme == "ssh":
            return _over_ssh(docker, endpoint)
        if endpoint.tls:
            return _over_tls(docker, endpoint)
        return _mounted(docker, endpoint, None, None)
    except docker.errors.DockerException as e:
        raise PipelineError(unreachable(endpoint, str(e), getattr(e, "explanation", None))) from None


def _endpoint(url: Optional[str]) -> Endpoint:
    """The engine at `url`: the one the environment names, with its TLS and context, when it is that one."""
    try:
        current = environment.docker_endpoint()
    except ConfigError:
        if url is None:
            raise
        # A URL the caller got without the environment's engine (that would have failed as here): a machine's.
        return Endpoint(url)
    return current if url in (None, current.url) else Endpoint(url)


# docker-py builds a client's transport inside APIClient() and asks the engine its API version right there
# (version="auto"), with no way to hand it a transport of ours. So where we need our own, _mounted builds the
# client for the oldest API version (no I/O), mounts our adapter on that one client, asks the version, and
# builds it again for that version: nothing outside the client is patched. The adapters reuse docker-py's
# public transport classes; docker is capped below 8 in pyproject.toml.

def _mounted(docker, endpoint: Endpoint, prefix: Optional[str], adapter, **options):
    """Also where every client asks its engine /version, once: the answer is kept for version() (the engine's
    platform), so that a command makes that call once, not twice. prefix None: docker-py's own transport."""
    import requests

    def build(version: str):
        made = docker.DockerClient(base_url=endpoint.url, version=version, timeout=TIMEOUT, **options)
        if prefix is not None:
            made.api.mount(prefix, adapter)
        return made

    try:
        answer = build(docker.constants.MINIMUM_DOCKER_API_VERSION).version(api_version=False)
    except requests.exceptions.RequestException as e:  # as version="auto" words it
        raise docker.errors.DockerException(f"Error while fetching server API version: {e}") from None
    made = build(answer["ApiVersion"])
    _versions[id(made)] = answer
    return made


def _over_ssh(docker, endpoint: Endpoint):
    """ssh:// through io.ssh. docker-py's paramiko transport connects as it is made, knowing only
    ~/.ssh/known_hosts and IdentityFile: not the project's known_hosts, a machine's own key or ProxyJump.
    use_ssh_client=True makes its OpenSSH transport instead, which does nothing until used; ours replaces it."""
    from goswarm.io import machines, ssh

    machines.register_identities()
    try:
        adapter = ssh.docker_adapter(endpoint.url, TIMEOUT)  # connects: host keys are checked here
    except PipelineError as e:
        raise PipelineError(f"cannot reach the Docker engine at {endpoint.described}: {e}") from None
    return _mounted(docker, endpoint, "http+docker://ssh", adapter, use_ssh_client=True)


def _over_tls(docker, endpoint: Endpoint):
    """TLS with the engine's own CA and client certificate (docker-py's TLSConfig). requests lets
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE override a session's CA, and its verify=False
    (docker/docker-py#2433): the adapter keeps what the engine's TLS settings say."""
    tls = endpoint.tls
    config = docker.tls.TLSConfig(client_cert=(tls.cert, tls.key) if tls.cert else None, ca_cert=tls.ca,
                                  verify=tls.verify)
    verify = (tls.ca or True) if tls.verify else False  # what TLSConfig.configure_client gives the session
    if not verify:  # the user's choice (SkipTLSVerify, or no DOCKER_TLS_VERIFY), made silently as the docker CLI does
        from urllib3.exceptions import InsecureRequestWarning

        host = urlparse(endpoint.url).hostname
        warnings.filterwarnings("ignore", re.escape(f"Unverified HTTPS request is being made to host '{host}'"),
                                InsecureRequestWarning)
    return _mounted(docker, endpoint, "https://", _tls_adapter_class()(verify), tls=config)


@functools.cache
def _tls_adapter_class():
    import requests.adapters

    class EngineTLSAdapter(requests.adapters.HTTPAdapter):
        """Verifies the engine as its TLS settings say, whatever the environment says for other hosts."""

        def __init__(self, verify):
            self.engine_verify = verify
            super().__init__()

        def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
            return super().send(request, stream=stream, timeout=timeout, verify=self.engine_verify, cert=cert,
                                proxies=proxies)

    return EngineTLSAdapter


def unreachable(endpoint: Endpoint, text: str, explanation: Optional[str] = None) -> str:
    """The one line for an engine that did not answer, or whose TLS does not fit. Pure."""
    if "Client sent an HTTP request to an HTTPS server" in text:
        return (f"cannot reach the Docker engine at {endpoint.described}: it speaks TLS; set DOCKER_TLS_VERIFY=1 "
                f"and DOCKER_CERT_PATH (a directory with ca.pem, cert.pem and key.pem), or use a docker context "
                f"that has them")
    trouble = tls_trouble(endpoint, text)
    if trouble:
        return f"cannot trust the Docker engine at {endpoint.described}: {trouble}"
    if endpoint.context:
        fix = "start it, or choose another context (DOCKER_CONTEXT, `docker context use`)"
    elif endpoint.chosen_by:
        fix = f"start it ({program.run('setup')}) or fix {endpoint.chosen_by}"
    else:
        fix = f"start it ({program.run('setup')}) or set DOCKER_HOST or DOCKER_CONTEXT"
    return f"cannot reach the Docker engine at {endpoint.described}: {_reason(text, explanation)}; {fix}"


def tls_trouble(endpoint: Endpoint, text: str) -> Optional[str]:
    """What a TLS failure means, in the user's terms, or None when `text` is no TLS failure. Pure."""
    tls = endpoint.tls
    if tls is None:
        return None
    if "CERTIFICATE_VERIFY_FAILED" in text:
        if "mismatch" in text:
            host = urlparse(endpoint.url).hostname
            return f"the engine's certificate is not for {host} (its names and addresses do not include it)"
        if tls.ca is None:
            return "the engine's certificate is not signed by a CA this system trusts"
        where = "the CA in DOCKER_CERT_PATH" if tls.origin == "DOCKER_CERT_PATH" else f"the CA of {tls.origin}"
        return f"the engine's certificate is not signed by {where} ({tls.ca})"
    refused = ("certificate required", "CERTIFICATE_REQUIRED", "bad certificate", "BAD_CERTIFICATE",
               "unknown ca", "UNKNOWN_CA")
    if any(marker in text for marker in refused):
        return (f"the engine refused our client certificate ({tls.cert or 'none'}, from {tls.origin}): it is not "
                f"signed by a CA the engine trusts")
    return None


def _reason(text: str, explanation: Optional[str] = None) -> str:
    for marker in ("No such file or directory", "Connection refused", "Permission denied", "timed out",
                   "Name or service not known", "Authentication failed", "No route to host", "Connection aborted"):
        if marker in text:
            return marker.lower()
    return environment.redact(str(explanation or text).splitlines()[0][:200])


_versions = {}  # id(client) -> its engine's /version; clients live as long as the process, or forget_clients()


def version(client) -> dict:
    """The engine's /version (platform, API, engine), asked once per client (when it was made, for ours)."""
    if id(client) not in _versions:
        with errors("asking the engine its version"):
            _versions[id(client)] = client.version()
    return _versions[id(client)]


_logged_in = set()


def login(client, registry: str, credentials, purpose: str = "use") -> None:
    """`docker login` to `registry` (host[:port]) through this client's engine, once per client: from then on
    the client sends the credentials with everything it asks of that registry: push, pull, distribution
    inspect, and service create and update (X-Registry-Auth, as `docker service update --with-registry-auth`,
    so that every node can pull). credentials: environment.registry_credentials(), or None for none.
    purpose: what the login is for, in words ("push to", "pull from")."""
    if credentials is None or (id(client), registry) in _logged_in:
        return
    user, password, origin = credentials
    docker = sdk()
    with errors(f"logging in to registry {registry}"):
        try:
            client.login(user, password, registry=registry, reauth=True)
        except docker.errors.APIError as e:
            reason = _reason(str(e), e.explanation)
            if e.status_code == 401 or "unauthorized" in str(e).lower():
                raise PipelineError(f"cannot {purpose} registry {registry}: it refused the credentials of {origin} "
                                    f"(user {user}): {reason}") from None
            raise PipelineError(f"cannot {purpose} registry {registry}: logging in as {user} failed: "
                                f"{reason}") from None
    _logged_in.add((id(client), registry))


def api_version(client) -> tuple:
    """The API version the client speaks with its engine, as (major, minor)."""
    major, _, minor = str(client.api.api_version).partition(".")
    return int(major), int(minor or 0)


def find_image(client, ref: str):
    """The image, or None when this engine does not have it."""
    return unless_missing(f"inspecting image {ref}", client.images.get, ref)


def unless_missing(doing: str, call, *args):
    """call(*args) under errors(doing), or None when the engine says the thing is not there."""
    docker = sdk()

    with errors(doing):
        try:
            return call(*args)
        except docker.errors.NotFound:
            return None


def wait_removed(container, timeout: int = 30) -> None:
    """Return once an auto-removed container is gone: stop() returns before the engine has removed it."""
    unless_missing(f"waiting for container {container.short_id} to be removed",
                   functools.partial(container.wait, condition="removed", timeout=timeout))


def image_ids(client) -> set:
    """The ids of the images an engine has (one call, however many there are)."""
    return set(client.api.images(quiet=True))


def save_images(client, refs: list):
    """`docker save REF...` as a stream of chunks: one tarball of several images, each layer in it once however
    many of them share it (GET /images/get?names=...; docker-py asks for one image at a time)."""
    api = client.api
    response = api._get(api._url("/images/get"), params={"names": list(refs)}, stream=True)
    return api._stream_raw_result(response, 2 << 20, False)


class StatsStream:
    """A container's stats as its engine streams them: a payload a second, the first at once. Iterating yields the
    payloads (PipelineError when the engine stops answering); close(), from any thread, ends the stream at once."""

    def __init__(self, response, doing: str):
        self._response, self._doing = response, doing

    def __iter__(self):
        import json

        with errors(self._doing):
            for line in self._response.iter_lines():
                if line:
                    yield json.loads(line)

    def close(self) -> None:
        import socket

        # Closing the response alone leaves a reader blocked until the next payload: shut the socket (or SSH
        # channel) down first, as docker-py's CancellableStream does.
        sock = getattr(getattr(self._response.raw, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._response.close()


def stats_stream(client, container: str) -> Optional[StatsStream]:
    """The engine's stats stream of a container (GET /containers/ID/stats, as docker-py's api.stats(stream=True)
    asks it, but with a response we can close), or None when the container is gone."""
    import requests

    docker = sdk()
    api, doing = client.api, f"streaming the stats of container {container[:12]}"
    with errors(doing):
        response = api.get(f"{api.base_url}/v{api.api_version}/containers/{container}/stats",
                           params={"stream": "1"}, stream=True, timeout=TIMEOUT)
        if response.status_code == 404:
            response.close()
            return None
        try:
            response.raise_for_status()
        except requests.exceptions.HTTPError as e:
            response.close()
            raise docker.errors.create_api_error_from_http_exception(e) from None
    return StatsStream(response, doing)


@contextlib.contextmanager
def errors(doing: str):
    """Translate docker SDK and transport errors raised while `doing` something into one line."""
    import requests

    docker = sdk()

    try:
        yield
    except docker.errors.NotFound as e:
        raise PipelineError(f"{doing}: not found ({_reason(str(e), e.explanation)})") from None
    except docker.errors.APIError as e:
        if "not a swarm manager" in str(e) and e.status_code == 503:
            # What an engine says while it shuts down (or restarts) under a running command.
            raise EngineLost(f"{doing}: the engine stopped answering as a swarm manager (is it shutting down "
                             f"or restarting?)") from None
        raise PipelineError(f"{doing}: {_reason(str(e), e.explanation)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException) as e:
        raise EngineLost(f"{doing}: lost the Docker engine ({_reason(str(e))})") from None
