#!/usr/bin/env python3
"""What starting goswarm costs, as ratios to Python's own floor, side by side in one run.

  floor           python -c "import invoke"            (what any Invoke program pays)
  floor+docker    python -c "import invoke, docker"    (what any command that talks to an engine pays)
  goswarm --list  the command of this checkout's editable install, listing its tasks
  wheel --list    the same from a wheel installed into a venv of its own, as `pip install goswarm` gives it
                  (an editable install adds its own import hook to every start)
  inv --list      this repository's tasks.py under inv
  no-op redeploy  `goswarm redeploy` of a deployed service whose sources did not change
  wheel no-op     the same no-op from the wheel's venv
  no-op, before   the same with the code as it was before the goswarm package (--baseline REV, a git
                  revision: checked out into a temp dir), on a service of its own

Every command runs --runs times, in turn with the others (so a noisy moment hits all of them), and the
medians are printed with their ratio to the floor. The redeploys deploy two services on the local engine
first, and remove them at the end.

Usage: python bench/startup.py [--runs 15] [--baseline de43777]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))  # bench/common.py, whatever the cwd
from common import baseline_checkout  # noqa: E402

PYTHON = sys.executable
GOSWARM = str(Path(PYTHON).with_name("goswarm"))
INV = str(Path(PYTHON).with_name("inv"))


def timed(argv, cwd, env) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   stdin=subprocess.DEVNULL, timeout=300)
    return time.perf_counter() - started


def project(workdir: Path, name: str) -> Path:
    """A project of one sample service, with its own lock, deployed as `name`."""
    root = workdir / name
    shutil.copytree(ROOT / "services" / "quotes-service", root / "quotes")
    # The health check each version knows: the binary checking itself (before), the probe (now).
    check = "{http: /health}" if name.endswith("new") else "[/service, -healthcheck]"
    config = (f"image: {{prefix: bench}}\ndeploy: {{lock: {name}}}\nswarm: {{network: my_network}}\n"
              f"services:\n  {name}: {{path: quotes, port: 8080, healthcheck: {check}}}\n")
    (root / "goswarm.yaml").write_text(config)
    (root / "invoke.yaml").write_text(config)  # for the baseline's inv, which reads only invoke.yaml
    return root


def wheel_venv(workdir: Path) -> Path:
    """A venv with goswarm installed from a wheel of this checkout; its goswarm command."""
    subprocess.run([PYTHON, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(workdir / "wheel"), str(ROOT)],
                   check=True, stdout=subprocess.DEVNULL)
    venv = workdir / "venv"
    subprocess.run([PYTHON, "-m", "venv", str(venv)], check=True)
    wheel = next((workdir / "wheel").glob("goswarm-*.whl"))
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, stdout=subprocess.DEVNULL)
    return venv / "bin"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--baseline", default="de43777", help="the revision before the goswarm package")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOSWARM_", "INVOKE_"))}
    workdir = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    old_tree = None
    try:
        new = project(workdir, "bench-startup-new")
        old = project(workdir, "bench-startup-old")
        old_tree = baseline_checkout(args.baseline, workdir)
        wheel_bin = wheel_venv(workdir)
        new_env = {**env, "GOSWARM_ROOT": str(new)}
        # the baseline's inv finds its tasks.py in its checkout, and the project through GOSWARM_ROOT
        old_env = {**env, "GOSWARM_ROOT": str(old)}
        old_inv = [PYTHON, "-m", "invoke", "--search-root", str(old_tree), "-f", str(old / "invoke.yaml")]
        # --service: the baseline's inv also reads its checkout's own invoke.yaml, with the sample services
        new_redeploy = [GOSWARM, "redeploy", "--service", "bench-startup-new"]
        old_redeploy = [*old_inv, "redeploy", "--service", "bench-startup-old"]
        subprocess.run(new_redeploy, cwd=new, env=new_env, check=True, stdout=subprocess.DEVNULL, timeout=300)
        subprocess.run(old_redeploy, cwd=old, env=old_env, check=True, stdout=subprocess.DEVNULL, timeout=300)
        commands = {
            "floor": ([PYTHON, "-c", "import invoke"], ROOT, env),
            "floor+docker": ([PYTHON, "-c", "import invoke, docker"], ROOT, env),
            "floor (wheel)": ([str(wheel_bin / "python"), "-c", "import invoke"], ROOT, env),
            "goswarm --list": ([GOSWARM, "--list"], new, new_env),
            "wheel --list": ([str(wheel_bin / "goswarm"), "--list"], new, new_env),
            "inv --list": ([INV, "--list"], ROOT, env),
            "no-op redeploy": (new_redeploy, new, new_env),
            "wheel no-op": ([str(wheel_bin / "goswarm"), *new_redeploy[1:]], new, new_env),
            "no-op, before": (old_redeploy, old, old_env),
        }
        times = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (argv, cwd, run_env) in commands.items():
                times[name].append(timed(argv, cwd, run_env))
        median = {name: statistics.median(values) for name, values in times.items()}
        print(f"{args.runs} runs each, in turn; medians (min-max)")
        for name, values in times.items():
            ratio = median[name] / median["floor"]
            docker_ratio = median[name] / median["floor+docker"]
            print(f"{name:16} {median[name]:.3f} s ({min(values):.3f}-{max(values):.3f})  "
                  f"{ratio:.2f}x floor  {docker_ratio:.2f}x floor+docker")
        print(f"wheel --list / its floor: {median['wheel --list'] / median['floor (wheel)']:.2f}x")
        print(f"no-op redeploy / before: {median['no-op redeploy'] / median['no-op, before']:.2f}x")
        print(f"wheel no-op / floor+docker (wheel: the same Python, no editable hook): "
              f"{median['wheel no-op'] / median['floor+docker']:.2f}x")
        return 0
    finally:
        for name in ("bench-startup-new", "bench-startup-old"):
            subprocess.run(["docker", "service", "rm", name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
