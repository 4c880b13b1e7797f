"""``tesla init NAME``: create a project folder with the starter notebooks (``notebooks/train.ipynb``); refused,
with nothing changed, where a project exists.

>>> import os, tempfile
>>> from tesla_lab.cli import main
>>> target = os.path.join(tempfile.mkdtemp(), "demo")
>>> main(["init", target])  # doctest: +ELLIPSIS
created project 'demo' in ...demo
next: cd ...demo && tesla load -d data.csv -o train
0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tesla_lab.cli.output import out
from tesla_lab.cli.registry import register_command

__all__: list[str] = []


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="folder to create (its name becomes the project name)")


def _run(args: argparse.Namespace) -> int:
    from tesla_lab.workflow import create_project

    project = create_project(Path(args.name), name=Path(args.name).resolve().name)
    out(f"created project {project.name!r} in {project.path}")
    if project.location.source != "default":  # a shared store (TESLA_STORE_URL): say so, the runs go there
        out(f"store: {project.location.describe()}")
    out(f"next: cd {args.name} && tesla load -d data.csv -o train")
    return 0


register_command("init", "create a new project folder", configure=_configure, run=_run)
