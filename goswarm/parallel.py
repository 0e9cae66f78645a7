"""The one way goswarm does several things at once: each item in a thread of its own, at most `limit` at a time.

Work on nodes (SSH, loading images) and on services (rollouts, which mostly wait on the engine) is bound by
waiting, not by this machine's cores; compiling is bound by cores (CORES). The threads are daemons: on Ctrl-C
the caller's thread raises at once, and a rollout left going goes on in the engine, as one waited for alone.
"""
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
