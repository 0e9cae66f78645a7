"""How the library acts on the world: commands through Invoke's runner, mutations announced, and --dry.

Library code takes a Shell, never an Invoke context. A task makes one from its context (`Shell.of(c)`),
so --dry, --echo and --hide keep working for every command the library runs.
"""
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Shell:
    runner: Callable  # invoke.Context.run, or anything with its signature
    dry: bool = False

    @classmethod
    def of(cls, c) -> "Shell":
        return cls(c.run, bool(c.config.run.dry))

    def run(self, command: str, **kwargs):
        """A command that changes something: under --dry it is only shown."""
        return self.runner(command, in_stream=False, **kwargs)

    def read(self, command: str, **kwargs):
        """A command that only reads: it runs under --dry too (a dry plan must see what is there), quietly,
        and its failure is the caller's to judge (`.ok`, `.stderr`)."""
        return self.runner(command, dry=False, echo=False, hide=True, warn=True, in_stream=False, **kwargs)

    def act(self, message: str, action, *args, **kwargs):
        """A mutation through an API (the engine, SSH): say it and do it, or under --dry only say it."""
        if self.dry:
            print(f"[dry] would {message}")
            return None
        print(f"-> {message}")
        return action(*args, **kwargs)
