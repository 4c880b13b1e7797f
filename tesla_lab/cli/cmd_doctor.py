"""``tesla doctor``: check the project's store without changing it (exit status 1 when a check fails).

>>> import tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp()
>>> main(["init", root]) == 0
... # doctest: +ELLIPSIS
created project ...
True
>>> main(["doctor", "--project", root])  # doctest: +ELLIPSIS
ok       store: sqlite file ...store.db (default)
ok       quick_check: ...store.db: quick_check ok
ok       artifacts: ...artifacts
ok       disk: ...
ok       leftovers: no temporary files of interrupted writes
0
"""

from __future__ import annotations

import argparse

from tesla_lab.cli.output import out
from tesla_lab.cli.registry import register_command

__all__: list[str] = []


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true",
                        help="PRAGMA integrity_check instead of quick_check (slower, also checks index contents)")


def _run(args: argparse.Namespace) -> int:
    from tesla_lab.store.doctor import diagnose

    findings = diagnose(getattr(args, "project", None) or ".", full=args.full)
    for finding in findings:
        out(f"{'ok' if finding.ok else 'PROBLEM':8} {finding.check}: {finding.message}")
    return 0 if all(f.ok for f in findings) else 1


register_command("doctor", "check the project's store (which, integrity, disk space, leftovers) without changing it",
                 configure=_configure, run=_run)
