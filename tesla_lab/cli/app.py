"""The ``tesla`` command: builds the parser from the registered subcommands and runs one, turning TESLA Lab errors
into a one-line ``error: ...`` on stderr and exit code 1 (``--debug`` shows the traceback instead). Usage errors
exit 2 (argparse's convention), Ctrl-C 130; a reader that closes the pipe early (``tesla runs --json | head``) ends
the command quietly with 141, like any Unix tool killed by SIGPIPE.

>>> main(["runs", "--colour"])  # a usage error: the usage and the error on stderr
2
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import logging
import os
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


def suggest(word: str, choices: Sequence[str]) -> str:
    """``"; did you mean X?"`` for the choice closest to a mistyped ``word`` (difflib), or ``""`` when none is close.

    >>> suggest("trian", ["train", "runs", "init"])
    "; did you mean 'train'?"
    >>> suggest("--epohcs", ["--epochs", "--seed"])
    "; did you mean '--epochs'?"
    >>> suggest("xyz", ["train"])
    ''
    """
    close = difflib.get_close_matches(word, [str(c) for c in choices], n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


class SuggestingParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose "invalid choice" error names the closest valid choice (Python 3.14's
    ``suggest_on_error``, for the Pythons before it). Subparsers inherit the class."""

    def _check_value(self, action: argparse.Action, value: object) -> None:
        if action.choices is not None and value not in action.choices and isinstance(value, str):
            choices = ", ".join(map(repr, action.choices))
            raise argparse.ArgumentError(action, f"invalid choice: {value!r}{suggest(value, list(action.choices))} "
                                                 f"(choose from {choices})")
        super()._check_value(action, value)


def _long_options(parser: argparse.ArgumentParser, command: str | None) -> list[str]:
    """The long options of ``parser`` and of its subcommand ``command`` (with that one's own subcommands): what an
    unknown flag there could have meant."""
    found: list[str] = []
    todo = [parser]
    while todo:
        current = todo.pop()
        for action in current._actions:
            found += [s for s in action.option_strings if s.startswith("--")]
            if isinstance(action, argparse._SubParsersAction):
                if current is parser:
                    todo += [action.choices[command]] if command in action.choices else []
                else:
                    todo += list(action.choices.values())
    return found


def _close_option(word: str, options: Sequence[str]) -> str | None:
    close = difflib.get_close_matches(word.split("=", 1)[0], options, n=1, cutoff=0.6)
    return close[0] if close else None


def _unknown_flags_error(parser: argparse.ArgumentParser, args: argparse.Namespace,
                         extra: Sequence[str]) -> tuple[argparse.ArgumentParser, str]:
    """The parser to complain with (the subcommand's, so its usage line is shown) and the message, which names the
    closest known flag of each mistyped one."""
    command = getattr(args, "command", None)
    options = _long_options(parser, command)
    pairs = [(e, found) for e in extra if e.startswith("--") and (found := _close_option(e, options))]
    message = f"unrecognized arguments: {' '.join(extra)}"
    if len(pairs) == 1:
        message += f"; did you mean {pairs[0][1]!r}?"
    elif pairs:
        message += "; did you mean " + ", ".join(f"{f!r} for {e.split('=', 1)[0]!r}" for e, f in pairs) + "?"
    sub = next((a.choices.get(command) for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    return sub or parser, message


def build_parser() -> argparse.ArgumentParser:
    """The full parser, one subparser per registered command."""
    from tesla_lab import __version__

    commands = load_commands()
    parser = SuggestingParser(
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


def _silence_stdout() -> None:
    """Point stdout at the null device so the interpreter's final flush does not fail again on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is no file (captured in a test, a notebook): nothing to do
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tesla`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader went away (``| head``): its choice, not an error to report
        _silence_stdout()
        return 141


def _main(argv: Sequence[str] | None) -> int:
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        from tesla_lab import __version__

        sys.stdout.write(f"tesla {__version__}\n")  # what argparse's version action prints, without the parser
        return 0
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "accepts_extra", False):
            complainer, message = _unknown_flags_error(parser, args, extra)
            complainer.error(message)
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
    except BrokenPipeError:
        raise  # main() ends quietly
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
