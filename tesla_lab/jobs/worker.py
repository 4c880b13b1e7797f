"""``python -m tesla_lab.jobs.worker``: the process :func:`~tesla_lab.jobs.launch_training` starts.

It opens the project, takes the ``queued`` run it was given, and trains the config file with
:func:`tesla_lab.workflow.train_model` into that run (metrics per epoch, checkpoints, the stop flag, the final
status). Whatever goes wrong ends the run: an exception → ``failed`` with the traceback; SIGTERM / SIGINT (the
escalation of a stop) → ``stopped``. The exit code is 0 for a finished or stopped run and 1 for a failed one.

With ``--warm`` (the dashboard's warm worker, :mod:`tesla_lab.jobs.warm`) it starts before there is a run: it does
the imports and first-use initialisations of training (:func:`warm_up`, ~4 s of a cold start), then waits for one
job, a JSON line ``{"run_id", "config", "resume", "log"}`` on stdin, sends its output to the run's log and trains
it exactly as above; it exits without training when stdin closes (the dashboard ended).

>>> main(["--help"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
SystemExit: 0
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from tesla_lab.store import FINAL_STATUSES, Project, Run
from tesla_lab.store.runs import format_error

__all__ = ["main", "train", "warm_up"]

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


def warm_up() -> None:
    """Do the imports and first-use initialisations every training job needs (torch, the workflow, the optimizer
    machinery that imports ``torch._dynamo`` on first use), so a job handed to a warm worker starts at once.

    >>> warm_up()
    """
    import torch

    import tesla_lab.workflow  # noqa: F401 - the import is the point: data, nn, train, store
    from tesla_lab.optim import get_optimizer

    # the first optimizer built imports torch._dynamo (~2 s); one on a throw-away parameter pays that here
    get_optimizer("adam", [torch.nn.Parameter(torch.zeros(1))], lr=1e-3)


def _take_job(args: argparse.Namespace) -> bool:
    """Wait for the job line on stdin and fill ``args`` from it; False when stdin closed without one."""
    line = sys.stdin.readline()
    if not line.strip():
        return False
    job = json.loads(line)
    args.run_id, args.config, args.resume = job["run_id"], job["config"], job.get("resume")
    if job.get("log"):  # from now on the output belongs to the run: its log, as a cold worker's
        log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tesla_lab.jobs.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", required=True, help="the project folder")
    parser.add_argument("--run-id", default=None, help="the queued run to train into (required without --warm)")
    parser.add_argument("--config", default=None, help="JSON file with the TrainConfig dict (required without --warm)")
    parser.add_argument("--resume", default=None, help="checkpoint file to continue from")
    parser.add_argument("--warm", action="store_true", help="import first, then take one job as a JSON line on stdin")
    args = parser.parse_args(argv)
    if not args.warm and (args.run_id is None or args.config is None):
        parser.error("--run-id and --config are required without --warm")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    if args.warm:
        try:
            warm_up()
            logger.info("warm worker %d ready", os.getpid())
            if not _take_job(args):
                return 0  # the dashboard closed the pipe: nothing to train
        except KeyboardInterrupt:  # stopped while idle
            return 0

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
