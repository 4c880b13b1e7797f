"""The subcommand registry: each ``tesla <command>`` is a :class:`Command` registered by a module of this package
named ``cmd_*.py``, found and imported when the parser is built.

To add a command (``tesla serve``, ``tesla dashboard``, ...) create ``tesla_lab/cli/cmd_<topic>.py`` and call
:func:`register_command` at import; keep heavy imports inside ``run`` so ``tesla --help`` stays fast. A command
whose name is reserved (see :data:`RESERVED`) replaces the placeholder that otherwise says it is not available yet.

>>> import argparse
>>> cmd = Command("hello", "say hello", configure=lambda p: p.add_argument("--who", default="world"),
...               run=lambda args: 0)
>>> cmd.name, cmd.help
('hello', 'say hello')
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError

__all__ = ["Command", "COMMANDS", "RESERVED", "register_command", "get_project", "common_options"]

Handler = Callable[[argparse.Namespace], "int | None"]


@dataclass(frozen=True)
class Command:
    """A subcommand: ``configure(parser)`` adds its arguments; ``run(args)`` does the work and returns the exit
    code (``None`` = 0). A command with sub-subcommands sets ``run`` per subparser with
    ``parser.set_defaults(run=...)`` instead."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], Any]
    run: Handler | None = None
    aliases: tuple[str, ...] = ()
    placeholder: bool = False


COMMANDS: dict[str, Command] = {}

# names kept for commands other parts of TESLA Lab add; until then they answer "not available yet"
RESERVED: dict[str, str] = {
    "dashboard": "the web dashboard",
    "run-notebook": "running a parameterized notebook with papermill",
    "schedule": "scheduled training jobs",
    "automl": "hyper-parameter search",
    "serve": "serving a deployed model over REST",
}


def register_command(name: str, help: str, *, configure: Callable[[argparse.ArgumentParser], Any],
                     run: Handler | None = None, aliases: tuple[str, ...] = (), placeholder: bool = False) -> Command:
    """Add ``tesla <name>``; registering a name twice is an error (except over a placeholder).

    >>> _ = register_command("demo", "first", configure=lambda p: None)
    >>> register_command("demo", "second", configure=lambda p: None)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: the command 'demo' is registered twice (by ... and ...); rename one
    >>> del COMMANDS["demo"]
    """
    existing = COMMANDS.get(name)
    if existing is not None and not existing.placeholder:
        owner = getattr(existing.configure, "__module__", "?")
        other = getattr(configure, "__module__", "?")
        raise ConfigError(f"the command {name!r} is registered twice (by {owner} and {other}); rename one")
    cmd = Command(name, help, configure=configure, run=run, aliases=tuple(aliases), placeholder=placeholder)
    COMMANDS[name] = cmd
    return cmd


def get_project(args: argparse.Namespace) -> Any:
    """The project of ``--project`` (or the one holding the current folder), for command handlers. Outside any
    project, the error names the projects right below the current folder (``tesla init my-project`` makes one
    there; the next commands run inside it).

    >>> import os, tempfile
    >>> from tesla_lab.store import Project
    >>> root = tempfile.mkdtemp(); _ = Project.init(os.path.join(root, "my-project"))
    >>> get_project(argparse.Namespace(project=root))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.StoreError: no TESLA project at ... or any parent folder (...); ... a project is in a \
subfolder here: cd my-project (or pass --project my-project)
    """
    from tesla_lab.store import Project, StoreError
    from tesla_lab.store.project import CONFIG_FILE

    where = getattr(args, "project", None)
    try:
        return Project(where)
    except StoreError as exc:
        below = Path(where or ".")
        found = sorted(p.parent.name for p in below.glob(f"*/{CONFIG_FILE}")) if below.is_dir() else []
        if not found:
            raise
        hint = (f"cd {found[0]} (or pass --project {found[0]})" if len(found) == 1
                else f"cd into one of: {', '.join(found)}")
        raise StoreError(f"{exc}; a project is in a subfolder here: {hint}") from exc


def common_options() -> argparse.ArgumentParser:
    """The options every (sub)command accepts, before or after its name: ``--project``, ``--debug``, ``-v``.
    Pass it as ``parents=[common_options()]`` to nested subparsers.

    >>> sorted(a.dest for a in common_options()._actions)
    ['debug', 'project', 'verbose']
    """
    # SUPPRESS: a subparser must not reset a value given before the subcommand
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project", metavar="DIR", default=argparse.SUPPRESS,
                        help="the project folder (default: the one holding the current folder)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks instead of one-line errors")
    common.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS,
                        help="log progress (-vv: debug logging)")
    return common
