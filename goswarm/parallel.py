"""The one way goswarm does several things at once: each item in a thread of its own, at most `limit` at a time.

Work on nodes (SSH, loading images) and on services (rollouts, which mostly wait on the engine) is bound by
waiting, not by this machine's cores; compiling is bound by cores (CORES). The threads are daemons: on Ctrl-C
the caller's thread raises at once, and a rollout left going goes on in the engine, as one waited for alone.
"""
import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterable

CORES = os.cpu_count() or 1
NODES = 8  # connections to nodes at once: each is a handshake and a transfer; more only queue on this machine


def workers(items: int, limit: int) -> int:
    """How many threads for `items` things, at most `limit` (at least one). Pure."""
    return max(1, min(items, limit))


def each(function: Callable, items: Iterable, limit: int) -> list:
    """function(item) for every item, at most `limit` at once; the results in the items' order. Every item
    runs to its end even when another fails; then the first failure (in the items' order) is raised."""
    items = list(items)
    if len(items) <= 1 or limit <= 1:
        return [function(item) for item in items]
    results, failures, todo = [None] * len(items), [None] * len(items), queue.SimpleQueue()
    for index in range(len(items)):
        todo.put(index)

    def work():
        while True:
            try:
                index = todo.get_nowait()
            except queue.Empty:
                return
            try:
                results[index] = function(items[index])
            except BaseException as e:  # noqa: B036 - handed to the caller's thread, raised there
                failures[index] = e

    threads = [threading.Thread(target=work, daemon=True, name="goswarm-each")
               for _ in range(workers(len(items), limit))]
    for thread in threads:
        thread.start()
    for thread in threads:
        while thread.is_alive():
            thread.join(0.2)  # a bounded join, so that Ctrl-C reaches this thread at once
    failed = next((f for f in failures if f is not None), None)
    if failed is not None:
        raise failed
    return results


# Calls at once on one SSH connection to an engine: sshd's MaxSessions is 10 channels per connection by default, and
# each call or stream in flight is one (`docker system dial-stdio`); two are left for the engine's other calls.
PER_CONNECTION = 8


def lane(in_use: list, per_connection: int = PER_CONNECTION) -> int:
    """The connection (0: the engine's shared one, 1, 2...: more of their own, engine.client(url, lane)) for one
    more thread that talks to an engine, given the lanes of those talking to it now: the first that has room. Pure."""
    taken = {}
    for used in in_use:
        taken[used] = taken.get(used, 0) + 1
    return next(n for n in range(len(in_use) + 1) if taken.get(n, 0) < per_connection)


class Lanes:
    """Lanes handed to threads that talk to one engine at once, each back when its thread is done with it."""

    def __init__(self):
        self._lock, self._in_use = threading.Lock(), []

    @contextlib.contextmanager
    def one(self):
        with self._lock:
            taken = lane(self._in_use)
            self._in_use.append(taken)
        try:
            yield taken
        finally:
            with self._lock:
                self._in_use.remove(taken)
