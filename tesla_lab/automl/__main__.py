"""``python -m tesla_lab.automl --project DIR [--storage URL] --study NAME [--index K]``: one AutoML worker process
(what ``tesla automl --workers N`` starts on this machine). It joins the study and runs trials until the search
ends; see :func:`tesla_lab.automl.workers.join_search`. Without ``--storage`` the URL comes from the environment
variable ``TESLA_AUTOML_STORAGE`` (how the leader hands it over: a password in it stays off the command line)."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    from tesla_lab.automl.workers import STORAGE_ENV, join_search
    from tesla_lab.errors import TeslaError
    from tesla_lab.store import Project

    parser = argparse.ArgumentParser(prog="python -m tesla_lab.automl", description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--storage", default=os.environ.get(STORAGE_ENV))
    parser.add_argument("--study", required=True)
    parser.add_argument("--index", type=int)
    args = parser.parse_args(argv)
    if not args.storage:
        parser.error(f"--storage URL (or the environment variable {STORAGE_ENV}) is required")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        join_search(Project(args.project), args.storage, args.study, index=args.index)
    except TeslaError as exc:
        logging.getLogger("tesla_lab.automl").error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
