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
import inspect
import json
import logging
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from tesla_lab.store import FINAL_STATUSES, Project, Run
from tesla_lab.store.runs import format_error, to_json
from tesla_lab.train import Callback, load_checkpoint

__all__ = ["main", "train"]

logger = logging.getLogger("tesla_lab.jobs.worker")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM from TrainingJob.stop's escalation: unwind like Ctrl-C, so the trainer's callbacks end the run
    # 'stopped' and every finally-block runs
    raise KeyboardInterrupt(f"signal {signum}")


def _end(run: Run, status: str, error: str | None) -> None:
    if run.status not in FINAL_STATUSES:
        run.finish(status, error=error)


class _QueuedRunProject(Project):
    """A Project whose next :meth:`start_run` hands out the run the launcher queued, filled with what
    ``train_model`` would have created it with (resolved config, params, dataset version), instead of a second run.

    Needed while :func:`tesla_lab.workflow.train_model` has no ``run=`` argument.
    """

    def __init__(self, path: str | Path, run_id: str) -> None:
        super().__init__(path)
        self._queued: str | None = run_id

    def start_run(self, name: str | None = None, config: Mapping[str, Any] | None = None,
                  params: Mapping[str, Any] | None = None, dataset: Any = None, *,
                  parent: str | Run | None = None, status: str = "running") -> Run:
        if self._queued is None:
            return super().start_run(name, config, params, dataset, parent=parent, status=status)
        run, self._queued = self.get_run(self._queued), None
        name_, version = self.datasets.resolve(dataset) if dataset is not None else (None, None)
        with self.db.transaction() as conn:
            conn.execute("UPDATE runs SET config = ?, dataset_name = COALESCE(?, dataset_name), "
                         "dataset_version = COALESCE(?, dataset_version) WHERE id = ?",
                         (to_json(dict(config or {}), "config"), name_, version, run.id))
        if params:
            run.log_params(params)
        if status == "running":
            run.start()
        return run


class _WarmStart(Callback):
    """Load model, optimizer and scaler state from a checkpoint when training begins (a resume whose epoch count
    restarts at 0; used while ``train_model`` has no ``resume=`` argument)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_train_begin(self, trainer: Any, logs: dict[str, Any] | None = None) -> None:
        load_checkpoint(self.path, model=trainer.model, optimizer=trainer.optimizer, scaler=trainer.scaler)
        logger.info("continuing from the weights and optimizer state of %s", self.path)


def train(project: Project, run: Run, config: dict[str, Any], resume: str | None = None) -> Any:
    """Train ``config`` into ``run`` (the worker's job, callable in-process for debugging); ``resume`` is a
    checkpoint to continue from."""
    from tesla_lab.jobs.sequential_family import register
    from tesla_lab.workflow import TrainConfig, train_model  # higher layer: imported where it is used

    register()
    cfg = TrainConfig.from_dict(config)
    accepts = inspect.signature(train_model).parameters
    kwargs: dict[str, Any] = {}
    callbacks: list[Any] = []
    if "run" in accepts:
        kwargs["run"] = run
    else:
        project = _QueuedRunProject(project.path, run.id)
    if resume is not None:
        if "resume" in accepts:
            kwargs["resume"] = resume
        else:
            callbacks.append(_WarmStart(resume))
    return train_model(project, cfg, name=run.name, callbacks=callbacks, progress=False, **kwargs)


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
