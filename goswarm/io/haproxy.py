"""This machine's HAProxy, the binary goswarm's HTTP edge image is made of (with the libraries it loads)."""
import platform
import shutil
import subprocess
from pathlib import Path

from goswarm.errors import PipelineError
from goswarm.plan import edgeproxy, platforms

MISSING = "no HAProxy on this machine (apt-get install haproxy)"
ARCHES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x",
          "i686": "386"}


PLACES = ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")  # not on a user's PATH on Debian


def found() -> str:
    return shutil.which("haproxy") or next((p for p in PLACES if Path(p).is_file()), "")


def binary() -> Path:
    if not found():
        raise PipelineError(MISSING)
    return Path(found()).resolve()


def own_platform() -> platforms.Platform:
    return platforms.parse(f"linux/{ARCHES.get(platform.machine(), platform.machine())}")


def unusable_for(target: platforms.Platform) -> str:
    """Why this machine's HAProxy cannot make an edge for `target` ("" when it can)."""
    if platform.system() != "Linux":
        return f"this machine runs {platform.system()}, not Linux"
    if not found():
        return MISSING
    here = own_platform()
    return "" if target == here else f"this machine's HAProxy is for {here}, not {target}"


def image_files() -> dict:
    """Path in the image -> file here: HAProxy and every library `ldd` says it loads."""
    haproxy = binary()
    try:
        listed = subprocess.run(["ldd", str(haproxy)], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise PipelineError(f"listing the libraries of {haproxy} (ldd) failed: {e}") from None
    if listed.returncode != 0 and "not a dynamic executable" not in listed.stderr + listed.stdout:
        raise PipelineError(f"ldd {haproxy} failed: {(listed.stderr or listed.stdout).strip()}")
    try:
        libraries = edgeproxy.libraries(listed.stdout)
    except ValueError as e:
        raise PipelineError(str(e)) from None
    return {edgeproxy.BINARY_PATH: haproxy, **{lib: Path(lib).resolve() for lib in libraries}}
