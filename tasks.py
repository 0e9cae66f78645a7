"""Invoke's entry point in this repository: `inv --list` shows the collections.

The collections live in tasks/, installed as the package goswarm.tasks (goswarm/tasks links to it), so that the
installed `goswarm` command runs the very same tasks; this file hands them to `inv`, rooted at this directory.
"""
from pathlib import Path

from goswarm import cli

ns = cli.inv_namespace(Path(__file__).resolve().parent)
