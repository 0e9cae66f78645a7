"""The one deadline loop: ask until there is an answer or the time is up."""
import time
from typing import Callable, Optional


def until(check: Callable, timeout: float, every: float, expired: Optional[Callable] = None):
    """check() every `every` seconds until it returns something other than None, and return that. Once
    `timeout` seconds have passed, return expired() instead (which may raise), or None without it.
    check() always runs at least once."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        if answer is not None:
            return answer
        if time.monotonic() >= deadline:
            return expired() if expired else None
        time.sleep(every)
