"""Invoke entry point: `inv --list` shows the collections.

Invoke imports this file as the module `tasks`. Giving it a `__path__` turns
it into a package whose submodules live in tasks/, so `tasks.build` resolves
the same way under `inv` and under pytest (tasks/ has no __init__.py).
"""
from pathlib import Path

__path__ = [str(Path(__file__).with_name("tasks"))]

from tasks.collection import namespace  # noqa: E402

ns = namespace()
