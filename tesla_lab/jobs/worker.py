"""``python -m tesla_lab.jobs.worker``: the process :func:`~tesla_lab.jobs.launch_training` starts.

It opens the project, takes the ``queued`` run it was given, and trains the config file with
:func:`tesla_lab.workflow.train_model` into that run (metrics per epoch, checkpoints, the stop flag, the final
status). Whatever goes wrong ends the run: an exception → ``failed`` with the traceback; SIGTERM / SIGINT (the
escalation of a stop) → ``stopped``. The exit code is 0 for a finished or stopped run and 1 for a failed one.

>>> main(["--help"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
SystemExit: 0
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from tesla_lab.store import FINAL_STATUSES, Project, Run
from tesla_lab.store.runs import format_error

__all__ = ["main", "train"]

logger = logging.getLogger("tesla_lab.jobs.worker")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM from TrainingJob.stop's escalation: unwind like Ctrl-C, so the trainer's callbacks end the run
    # 'stopped' and every finally-block runs
    raise KeyboardInterrupt(f"signal {signum}")


def _end(run: Run, status: str, error: str | None) -> None:
    if run.status not in FINAL_STATUSES:
        run.finish(status, error=error)


def train(project: Project, run: Run, config: dict[str, Any], resume: str | None = None) -> Any:
    """Train ``config`` into ``run`` (the worker's job, callable in-process for debugging); ``resume`` is a
    checkpoint to continue from."""
    from tesla_lab.workflow import TrainConfig, train_model  # higher layer: imported where it is used

    return train_model(project, TrainConfig.from_dict(config), name=run.name, run=run, resume=resume,
                       progress=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tesla_lab.jobs.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, help="the project folder")
    parser.add_argument("--run-id", required=True, help="the queued run to train into")
    parser.add_argument("--config", required=True, help="JSON file with the TrainConfig dict")
    parser.add_argument("--resume", default=None, help="checkpoint file to continue from")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)

    project = Project(args.project)
    run = project.get_run(args.run_id)
    if run.stop_requested():
        _end(run, "stopped", "stopped before training started")
        return 0
    try:
        config = json.loads(Path(args.config).read_text(encoding="utf-8"))
        logger.info("run %s (%s): training %s", run.id[:8], run.name, json.dumps(config, sort_keys=True))
        train(project, run, config, args.resume)
    except KeyboardInterrupt as exc:
        logger.warning("run %s interrupted (%s); marking it stopped", run.id[:8], exc or "SIGINT")
        _end(run, "stopped", f"interrupted: {exc or 'SIGINT'}")
        return 0
    except BaseException as exc:  # noqa: BLE001 - whatever it was, the run must end 'failed' with its text
        logger.error("run %s failed:\n%s", run.id[:8], format_error(exc))
        _end(run, "failed", format_error(exc))
        return 1
    _end(run, "finished", None)
    logger.info("run %s ended %s", run.id[:8], run.status)
    return 0 if run.status != "failed" else 1


if __name__ == "__main__":
    sys.exit(main())
