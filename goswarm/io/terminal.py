"""Where a person waits: one line redrawn in place in a terminal, plain lines anywhere else.

A CI log or a pipe gets no control characters: a line when what it says changes, and at least one every
few seconds while the wait goes on, so a stuck rollout is never silent. goswarm prints no colour at all,
so NO_COLOR holds by construction; NO_COLOR, TERM=dumb or GOSWARM_PLAIN=1 also turn the redrawing off.
"""
import contextlib
import os
import sys
import time


def progress_to_stderr(as_json: bool):
    """With --json, what a task says along the way goes to stderr, so that stdout holds the JSON document alone."""
    return contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()


def live(stream) -> bool:
    """Is `stream` a terminal a line can be redrawn on?"""
    if os.environ.get("NO_COLOR") or os.environ.get("GOSWARM_PLAIN") or os.environ.get("TERM") == "dumb":
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class Status:
    """One line about something that takes a while."""

    def __init__(self, stream=None, every: float = 5.0):
        self.stream = stream or sys.stdout
        self.live = live(self.stream)
        self.every = every
        self.shown = None  # the key of what was printed last (plain mode)
        self.printed_at = 0.0
        self.width = 0  # what is on the live line now

    def update(self, text: str, key: str = None) -> None:
        """Show `text`. Plain: printed when `key` (default: the text) differs from the last one printed, or
        when `every` seconds have passed since then; so give a key without the ticking parts."""
        key = text if key is None else key
        if self.live:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
            self.width = len(text)
            return
        now = time.monotonic()
        if key != self.shown or now - self.printed_at >= self.every:
            print(text, file=self.stream, flush=True)
            self.shown, self.printed_at = key, now

    def done(self, text: str = None) -> None:
        """End the wait: clear the live line, and print `text` as an ordinary line."""
        if self.live and self.width:
            self.stream.write("\r\x1b[2K")
            self.width = 0
        if text is not None:
            print(text, file=self.stream, flush=True)

