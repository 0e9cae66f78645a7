"""The dev loop: redeploy each service whose sources change, until Ctrl-C.

One watcher over the selected services' Go module directories; each burst of saves becomes one
redeploy of just the services it touched. A failed cycle (a compile error, a failed smoke test) is
one line and the loop goes on: redeploy leaves the running version up when a cycle fails.
"""
import queue
import signal
import sys
import threading
import time
from pathlib import Path

from goswarm.errors import Interrupted, PipelineError
from goswarm.ops import live as swaps
from goswarm.ops import pipeline
from goswarm.plan import config, output
from goswarm.plan import live as live_plan
from goswarm.settings import DEBOUNCE_MS

QUIET_MS = 50  # a burst has ended when nothing changed for this long
EDITOR_TEMP = ("~", ".swp", ".swo", ".swx")  # emacs backups, vim swap files (vim's `4913` probe: below)


def ignored(relative: Path) -> bool:
    """A change that cannot change the binary: hidden files and dirs, editor temp files, Go tests. Pure."""
    name = relative.name
    return (any(part.startswith(".") for part in relative.parts) or name.endswith(EDITOR_TEMP)
            or name == "4913" or name.endswith("_test.go"))


def owners(paths, roots: dict, dist: Path) -> dict:
    """{service: sorted files relative to its path} for the changed paths that can change its binary.
    A path belongs to the service with the deepest path that holds it; services sharing that path share it. Pure."""
    found = {}
    for path in map(Path, paths):
        if path == dist or dist in path.parents:  # the build writes its binaries there
            continue
        holders = [name for name, root in roots.items() if root == path or root in path.parents]
        deepest = max((len(roots[name].parts) for name in holders), default=0)
        for name in holders:
            relative = path.relative_to(roots[name])
            if len(roots[name].parts) == deepest and not ignored(relative):
                found.setdefault(name, set()).add(relative.as_posix())
    return {name: sorted(found[name]) for name in roots if name in found}


def describe(changed: dict, most: int = 3) -> str:
    """`a (main.go), b (x.go, y.go, z.go +2 more)`. Pure."""
    def files(names):
        return ", ".join(names[:most]) + (f" +{len(names) - most} more" if len(names) > most else "")
    return ", ".join(f"{name} ({files(names)})" for name, names in changed.items())


def changes(roots: dict, dist: Path, debounce_ms: int, stop_event=None):
    """Yields {service: files} for each burst of relevant changes, until Ctrl-C or `stop_event` is set.
    Changes made while the caller is busy are kept by the watcher and come with the next burst."""
    import watchfiles  # only the dev loop needs it

    def relevant(_change, path: str) -> bool:
        return bool(owners([path], roots, dist))

    for batch in watchfiles.watch(*roots.values(), watch_filter=relevant, debounce=debounce_ms, step=QUIET_MS,
                                  stop_event=stop_event):
        yield owners({path for _, path in batch}, roots, dist)


class Watcher:
    """The watcher runs in a thread from before the first redeploy on, so no save is missed while a
    redeploy runs; next() merges every burst that came in meanwhile."""

    def __init__(self, roots: dict, dist: Path, debounce_ms: int, stop_event=None):
        self.bursts, self.stop = queue.Queue(), stop_event or threading.Event()
        self.thread = threading.Thread(target=self._run, args=(roots, dist, debounce_ms), daemon=True)
        self.thread.start()

    def _run(self, roots, dist, debounce_ms):
        for burst in changes(roots, dist, debounce_ms, self.stop):
            self.bursts.put(burst)
        self.bursts.put(None)  # stopped

    def next(self):
        """The services changed since the last call, with their files; None once stopped."""
        burst = self.bursts.get()  # Ctrl-C interrupts the wait
        merged = {}
        while burst is not None:
            for name, files in burst.items():
                merged[name] = sorted(set(merged.get(name, [])) | set(files))
            if self.bursts.empty():
                return merged
            burst = self.bursts.get()
        return merged or None


class CtrlC:
    """SIGINT handler that counts, then interrupts as Python's own does. Invoke's `c.run` forwards a Ctrl-C
    to its command and carries on, so the count is how a cycle knows the user asked to stop."""

    def __init__(self):
        self.count = 0

    def __call__(self, signum, frame):
        self.count += 1
        raise KeyboardInterrupt


def say(line: str):
    print(f"[{time.strftime('%H:%M:%S')}] {line}")


def attempt(work, ctrl_c: CtrlC, served) -> None:
    """work() (a redeploy or a swap), then one line: served(its result, seconds), or the failure and what serves
    after it (the running version, unless a swap says otherwise). Only a Ctrl-C (KeyboardInterrupt) escapes."""
    start, interrupts = time.monotonic(), ctrl_c.count
    try:
        result, failure = work(), None
    except PipelineError as e:
        result, failure = None, e
    if ctrl_c.count > interrupts or isinstance(failure, Interrupted):
        if failure:  # e.g. where the deploy left the service
            print(f"dev: {failure}")
        raise KeyboardInterrupt
    if failure:
        print(f"dev: {failure}; {getattr(failure, 'serving', 'the running version stays up')}. Watching…")
    else:
        print(served(result, time.monotonic() - start))


def cycle(sh, cfg, names: list, ctrl_c: CtrlC, what: str) -> None:
    """One redeploy: its stage table, then one line; only a Ctrl-C (KeyboardInterrupt) escapes."""
    verb = "is" if len(names) == 1 else "are"
    attempt(lambda: pipeline.redeploy(sh, cfg, [cfg.services[name] for name in names]), ctrl_c,
            lambda _, seconds: f"dev: {', '.join(names)} {verb} serving {what} (total {seconds:.2f} s). Watching…")


def supervise(sh, cfg, names: list, paths: dict) -> None:
    """dev --live: have these services' tasks run under the supervisor; paths gets where each one's binary sits.
    A service that cannot be live is said so, and redeployed on each change instead."""
    for name in names:
        try:
            paths[name] = swaps.enter(sh, cfg, cfg.services[name])
            swaps.connect(cfg)
            print(f"dev: {name} runs under goswarm's supervisor: a change of its Go code is swapped into its "
                  f"running tasks. Watching…")
        except PipelineError as e:
            paths.pop(name, None)
            print(f"dev: {e}; {name} is redeployed on each change instead")


def swap(sh, cfg, changed: dict, paths: dict, ctrl_c: CtrlC) -> None:
    """dev --live: put each changed service's new binary into its running tasks; only Ctrl-C escapes."""
    for name in changed:
        attempt(lambda name=name: swaps.swap(sh, cfg, cfg.services[name], paths[name]), ctrl_c,
                lambda count, seconds, name=name: f"dev: {name} is serving the change in the same {count} task(s) "
                                                  f"(total {seconds:.2f} s). Watching…")


def run(sh, cfg, services: list, debounce_ms: int = DEBOUNCE_MS, stop_event=None, live: bool = False) -> int:
    """Redeploy the services, then each one whose sources change, until Ctrl-C; the exit code. live: swap a
    change of Go code into the running tasks instead of redeploying (a Dockerfile change still redeploys).
    (The commands it runs never read stdin: Shell passes in_stream=False, without which a stdin at EOF
    would keep Invoke from passing a Ctrl-C on.)"""
    dist = cfg.dist.resolve()
    roots = {s.name: s.path for s in services}
    ctrl_c = CtrlC()
    previous = signal.signal(signal.SIGINT, ctrl_c)
    busy, paths = True, {}
    watcher = Watcher(roots, dist, debounce_ms, stop_event)
    try:
        watched = ", ".join(output.shown(p) for p in dict.fromkeys(roots.values()))
        say(f"dev: redeploy {', '.join(roots)} to match the sources, then watch {watched} (Ctrl-C stops)")
        cycle(sh, cfg, list(roots), ctrl_c, "the sources")
        if live:
            supervise(sh, cfg, list(roots), paths)
        busy = False
        while (changed := watcher.next()) is not None:
            busy = True
            swappable = {n: f for n, f in changed.items() if n in paths and live_plan.swappable(f)}
            if swappable:
                say(f"change in {describe(swappable)} -> swap into the running tasks")
                swap(sh, cfg, swappable, paths, ctrl_c)
            rest = {n: f for n, f in changed.items() if n not in swappable}
            if rest:
                say(f"change in {describe(rest)} -> redeploy")
                cycle(sh, cfg, list(rest), ctrl_c, "the change")
                if live:  # the redeploy put the normal spec back
                    supervise(sh, cfg, [n for n in rest if n in paths], paths)
            busy = False
    except KeyboardInterrupt:
        # Mid-redeploy the deploy code has cleaned up and said where the service stands: exit as interrupted.
        return Interrupted.exit_code if busy else 0
    finally:
        watcher.stop.set()
        signal.signal(signal.SIGINT, previous)
    return 0


def watchable(cfg, service) -> list:
    """The selected services, each with a directory to watch."""
    services = config.select(cfg.services, service)
    missing = [s for s in services if not s.path.is_dir()]
    if missing:
        raise PipelineError(f"services.{missing[0].name}.path: {missing[0].path} is not a directory")
    return services


def dev(sh, cfg, services: list, debounce_ms: int = DEBOUNCE_MS, live: bool = False) -> int:
    """The loop, or under --dry the plan; the exit code."""
    if sh.dry:
        pipeline.redeploy(sh, cfg, services)
        for s in services:
            action = f"swap {s.name}'s new binary into its running tasks" if live else f"redeploy {s.name}"
            print(f"[dry] would watch {output.shown(s.path)} and {action} when it changes")
        return 0
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # a long-running loop: `dev | tee` must see each line
    code = run(sh, cfg, services, debounce_ms, live=live)
    print("dev: stopped")
    return code
