"""The ``tesla`` command line: thin commands that parse arguments and hand off to :mod:`tesla_lab.workflow` and
:mod:`tesla_lab.store`. Subcommands live in ``cmd_*.py`` modules and register themselves
(:func:`register_command`), so new ones are added in new files.

>>> from tesla_lab.cli import main
>>> main(["--version"])  # doctest: +ELLIPSIS
tesla ...
0
"""

from tesla_lab.cli.app import build_parser, main
from tesla_lab.cli.output import err, out
from tesla_lab.cli.registry import COMMANDS, RESERVED, Command, common_options, get_project, register_command

__all__ = ["main", "build_parser", "register_command", "Command", "COMMANDS", "RESERVED", "common_options",
           "get_project", "out", "err"]
