"""The ``tesla`` command: builds the parser from the registered subcommands and runs one, turning TESLA Lab errors
into a one-line ``error: ...`` on stderr and exit code 1 (``--debug`` shows the traceback instead). Usage errors
exit 2 (argparse's convention), Ctrl-C 130.

>>> main(["runs", "--colour"])  # a usage error: the usage and the error on stderr
2
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Sequence

from tesla_lab.cli.output import err
from tesla_lab.cli.registry import COMMANDS, RESERVED, Command, common_options, register_command
from tesla_lab.errors import ConfigError, TeslaError

__all__ = ["main", "build_parser", "load_commands"]

logger = logging.getLogger(__name__)

_PACKAGE = "tesla_lab.cli"


def load_commands() -> dict[str, Command]:
    """Import every ``tesla_lab/cli/cmd_*.py`` module (each registers its commands), then add placeholders for
    the reserved names nobody registered."""
    package = importlib.import_module(_PACKAGE)
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            importlib.import_module(f"{_PACKAGE}.{info.name}")
    for name, what in RESERVED.items():
        if name not in COMMANDS:
            register_command(name, f"(not available yet: {what})", configure=_placeholder_args,
                             run=_placeholder(name, what), placeholder=True)
    return dict(COMMANDS)


def _placeholder_args(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(accepts_extra=True)  # `tesla serve --port 8000` says "not available", not "bad option"


def _placeholder(name: str, what: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise ConfigError(f"`tesla {name}` ({what}) is not available in this version of TESLA Lab yet; see "
                          "`tesla --help` for the commands you can use")

    return run


def build_parser() -> argparse.ArgumentParser:
    """The full parser, one subparser per registered command."""
    from tesla_lab import __version__

    commands = load_commands()
    parser = argparse.ArgumentParser(
        prog="tesla", parents=[common_options()],
        description="TESLA Lab: train, evaluate and deploy tensor-network and classic models from the shell.",
        epilog="start with: tesla init my-project && cd my-project && tesla load -d data.csv -o train")
    parser.add_argument("--version", action="version", version=f"tesla {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, cmd in sorted(commands.items(), key=lambda kv: (kv[1].placeholder, kv[0])):  # real ones first
        p = sub.add_parser(name, help=cmd.help, description=cmd.help, aliases=list(cmd.aliases),
                           parents=[common_options()])  # a fresh copy each: argparse shares parents' actions
        cmd.configure(p)
        if cmd.run is not None:
            p.set_defaults(run=cmd.run)
    return parser


def _setup_logging(verbose: int) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    if verbose:  # only when asked: main() also runs in-process (tests, notebooks) and must not mute anyone's logs
        logging.getLogger("tesla_lab").setLevel(logging.INFO if verbose == 1 else logging.DEBUG)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tesla`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "accepts_extra", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help / --version (0) or a usage error (2): argparse already printed
        return int(exc.code) if isinstance(exc.code, int) else 0 if exc.code is None else 2
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    debug = bool(getattr(args, "debug", False))
    _setup_logging(int(getattr(args, "verbose", 0) or 0))
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except TeslaError as exc:
        if debug:
            raise
        err(f"error: {_one_line(exc)}")
        return 1
    except OSError as exc:
        if debug:
            raise
        err(f"error: {_one_line(exc)}")
        return 1
    except Exception as exc:  # a bug: say so, keep it one line unless --debug
        if debug:
            raise
        err(f"error: unexpected {type(exc).__name__}: {_one_line(exc)} (run again with --debug for the traceback)")
        return 1
