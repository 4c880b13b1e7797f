"""``python -m tesla_lab.automl --project DIR --storage URL --study NAME [--index K]``: one AutoML worker process
(what ``tesla automl --workers N`` starts on this machine). It joins the study and runs trials until the search
ends; see :func:`tesla_lab.automl.workers.join_search`."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    from tesla_lab.automl.workers import join_search
    from tesla_lab.errors import TeslaError
    from tesla_lab.store import Project

    parser = argparse.ArgumentParser(prog="python -m tesla_lab.automl", description=__doc__)
    parser.add_argument("--project", required=True)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--study", required=True)
    parser.add_argument("--index", type=int)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        join_search(Project(args.project), args.storage, args.study, index=args.index)
    except TeslaError as exc:
        logging.getLogger("tesla_lab.automl").error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
