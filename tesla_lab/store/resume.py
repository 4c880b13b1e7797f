"""Resuming a run in place: what every entry point (background jobs, ``tesla train --resume``, the dashboard's
Resume button, a notebook) does before it trains again.

:func:`reopen_for_resume` checks that the run can be resumed (stopped, failed or crashed, with a stored training
config), finds its latest checkpoint and the epoch it holds, and reopens the run (:meth:`Run.reopen`): the same id,
``resumed`` + 1, the metric values after the checkpoint's epoch dropped (they are trained again), so the curve
continues without a gap. Without a checkpoint the run starts over from epoch 0.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> run = Project.init(tempfile.mkdtemp()).start_run(name="r", config={"epochs": 5})
>>> run.log_metric("loss", 1.0, step=0); _ = run.log_artifact("checkpoint-epoch0001.pt", b"...", kind="checkpoint")
>>> run.log_metric("loss", 0.9, step=1); run.finish("crashed")
>>> plan = reopen_for_resume(run, epochs=8)
>>> plan.epoch, plan.config["epochs"], run.status, run.resumed, list(run.history().index)
(1, 8, 'queued', 1, [0])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from tesla_lab.store.db import NotFoundError, StoreError
from tesla_lab.store.runs import RESUMABLE_STATUSES, Run, to_json
from tesla_lab.store.values import _step

__all__ = ["ResumeError", "ResumePlan", "reopen_run", "reopen_for_resume", "plan_resume", "checkpoint_epoch"]


class ResumeError(StoreError):
    """A run cannot be resumed as asked (finished, still running, no training config, a bad epoch count)."""


class ResumePlan(NamedTuple):
    """What to train after :func:`reopen_for_resume`: the checkpoint to load (None: from scratch), the epoch it
    holds, and the run's training config (with the new total ``epochs`` when one was given)."""

    checkpoint: Path | None
    epoch: int
    config: dict[str, Any]


def checkpoint_epoch(name: str | None) -> int | None:
    """The epoch count in a checkpoint name (``checkpoint-epoch0012.pt`` -> 12), None when it has none.

    >>> checkpoint_epoch("checkpoint-epoch0012.pt"), checkpoint_epoch("best.pt")
    (12, None)
    """
    match = re.search(r"epoch(\d+)", name or "")
    return int(match.group(1)) if match else None


def reopen_run(run: Run, from_step: int | None = None) -> None:
    """Make a stopped, failed or crashed run ``queued`` again, to continue it in place (same id, same curve):
    counts one more ``resumed``, withdraws the stop request and clears the end time and error. Metric values
    at ``from_step`` and after (the epochs past the checkpoint it continues from, which are trained again)
    are deleted; ``from_step=0`` starts the curve over.

    >>> from tesla_lab.store import Project
    >>> import tempfile
    >>> run = Project.init(tempfile.mkdtemp()).start_run()
    >>> run.log_metric("loss", 1.0, step=0); run.log_metric("loss", 0.9, step=1); run.finish("stopped")
    >>> reopen_run(run, from_step=1); run.status, run.resumed, list(run.history().index)
    ('queued', 1, [0])
    >>> run.finish("finished"); reopen_run(run)
    Traceback (most recent call last):
    ...
    tesla_lab.store.resume.ResumeError: run ... is finished; only a stopped, failed or crashed run can be resumed ...
    """
    if from_step is not None:
        from_step = _step(from_step)
    with run._db.transaction() as conn:
        row = conn.execute("SELECT status, name FROM runs WHERE id = ?", (run.id,)).fetchone()
        if row is None:
            raise NotFoundError(f"run {run.id} is not in {run._db.path} (deleted?)")
        if row["status"] not in RESUMABLE_STATUSES:
            raise ResumeError(f"run {run.id[:8]} ({row['name']}) is {row['status']}; only a stopped, failed or "
                              "crashed run can be resumed (a finished run trained all its epochs: start a new "
                              "run to train more)")
        conn.execute("UPDATE runs SET status = 'queued', resumed = resumed + 1, stop_requested = 0, ended = NULL, "
                     "duration = NULL, error = NULL, pid = NULL, pid_started = NULL WHERE id = ?", (run.id,))
        if from_step is not None:
            conn.execute("DELETE FROM metrics WHERE run_id = ? AND step >= ?", (run.id, from_step))


def plan_resume(run: Run, *, epochs: int | None = None,
                check: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> ResumePlan:
    """The :class:`ResumePlan` of ``run`` (its latest checkpoint, the epoch it holds, its training config with the
    new ``epochs`` total), changing nothing: what the other processes of a multi-process resume read while rank 0
    reopens the run with :func:`reopen_for_resume`.

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> run = Project.init(tempfile.mkdtemp()).start_run(name="r", config={"epochs": 5})
    >>> plan_resume(run, epochs=9).config["epochs"], run.status
    (9, 'running')
    """
    config = dict(run.config or {})
    if not config:
        raise ResumeError(f"run {run.id[:8]} ({run.name}) has no stored training config; it was not started by "
                          "train_model or launch_training, start a new run instead")
    checkpoint = run.latest_checkpoint()
    done = 0
    if checkpoint is not None:
        found = checkpoint_epoch(run.latest_checkpoint_name())
        done = found if found is not None else max(0, len(run.history()) - 1)
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= done:
            raise ResumeError(f"epochs is the new total epoch count and must be an integer > {done} (the epochs in "
                              f"the checkpoint); got {epochs!r}")
        config["epochs"] = epochs
        if config.get("iterations") is not None:  # `tesla train -p N` stored iterations, which would win over epochs
            config["iterations"] = epochs
    if check is not None:
        config = check(config)
    return ResumePlan(checkpoint, done, config)


def reopen_for_resume(run: Run, *, epochs: int | None = None,
                      check: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> ResumePlan:
    """Check that ``run`` can be resumed, reopen it in place and return the :class:`ResumePlan`. ``check``
    validates (and may normalise) the training config before anything changes, e.g. ``TrainConfig.from_dict``.

    Raises :class:`ResumeError` (nothing changed) for a finished run, a queued or running one, a run without a
    training config, or an ``epochs`` total not above the checkpoint's epoch.
    """
    status = run.status
    if status not in RESUMABLE_STATUSES:
        what = ("it trained all its epochs; start a new run (with more epochs) to train more"
                if status == "finished" else "stop it before resuming it")
        raise ResumeError(f"run {run.id[:8]} ({run.name}) is {status}; {what}")
    plan = plan_resume(run, epochs=epochs, check=check)
    reopen_run(run, from_step=plan.epoch)
    if epochs is not None:
        with run._db.transaction() as conn:  # the stored config says how many epochs the run now trains
            conn.execute("UPDATE runs SET config = ? WHERE id = ?", (to_json(plan.config, "config"), run.id))
    return plan
