"""``tesla dashboard``: serve the Panel dashboard for the project (thin: hands off to
:func:`tesla_lab.ui.serve.serve_dashboard`).

>>> from tesla_lab.cli import main
>>> main(["dashboard", "--host", "0.0.0.0"])  # refused without a token: error on stderr
1
"""

from __future__ import annotations

import argparse

from tesla_lab.cli.registry import register_command

__all__: list[str] = []


def _configure(parser: argparse.ArgumentParser) -> None:
    from tesla_lab.ui.serve import add_arguments

    add_arguments(parser, project_option=False)  # --project comes with every command


def _run(args: argparse.Namespace) -> int:
    from tesla_lab.ui.serve import run

    return run(args)


register_command("dashboard", "serve the web dashboard (Data, Explore, Model, Train, Runs) on 127.0.0.1:5006",
                 configure=_configure, run=_run)
