"""The Train view's state: launch a run in a background process, follow it from the store, stop or resume it.

Resume continues the followed run in place (the same run, its curve continued from the last checkpoint); it is
offered for stopped, failed and crashed runs only, never for a finished one.

Nothing here trains: :meth:`TrainState.launch` starts ``tesla_lab.jobs.worker`` (see :mod:`tesla_lab.jobs`) and
:meth:`TrainState.poll`, called every second by the view (``pn.state.add_periodic_callback`` / a thread in a
notebook), reads status, per-epoch metrics, throughput and device from the store.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> state = TrainState(Project.init(tempfile.mkdtemp()))
>>> state.launch({"epochs": 0}) is None, state.error
(True, 'cannot start training: epochs must be an integer >= 1; got 0')
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError
from tesla_lab.jobs import TrainingJob, attach, launch_training, resume_training
from tesla_lab.store import FINAL_STATUSES, RESUMABLE_STATUSES, Project, Run
from tesla_lab.ui import charts
from tesla_lab.ui.state.base import StateBase, action, param

__all__ = ["TrainState"]

logger = logging.getLogger(__name__)

_CURVE_KEYS = ("loss", "val_loss", "accuracy", "val_accuracy", "mae", "val_mae", "r2", "val_r2")


class TrainState(StateBase):
    """One training run at a time, followed live.

    Args:
        project: where runs are recorded.
        run: an existing run (or id / name) to follow, e.g. ``TrainingMonitor(run)``.
    """

    run_id = param.String(default="", doc="the run followed ('' before a launch)")
    run_name = param.String(default="")
    status = param.String(default="", doc="queued / running / finished / failed / stopped / crashed")
    epoch = param.Integer(default=0, doc="epochs done")
    epochs = param.Integer(default=0, doc="epochs planned")
    progress = param.Number(default=0.0, doc="percent of the planned epochs done")
    history = param.DataFrame(default=None, allow_None=True, doc="long metrics: key, step, value, timestamp")
    throughput = param.Number(default=None, allow_None=True,
                              doc="training samples per second over the epochs so far (not one epoch's, which jumps)")
    smoothing = param.Number(default=0.0, bounds=(0.0, 0.99), doc="TensorBoard-like smoothing of the live curves")
    log_y = param.Boolean(default=False, doc="log-scale y axes of the live curves")
    device = param.String(default="")
    run_error = param.String(default="", doc="the error text of a failed or crashed run")
    resumed = param.Integer(default=0, doc="times the run was resumed")
    active = param.Boolean(default=False, doc="True while the run is queued or running")
    stopping = param.Boolean(default=False, doc="True between the stop request and the end of the run")

    def __init__(self, project: Project, run: str | Run | None = None, **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(project, Project):
            raise ConfigError(f"TrainState needs a tesla_lab.store.Project; got {type(project).__name__}")
        self.project = project
        self.job: TrainingJob | None = None
        if run is not None:
            self.watch(run)

    # ------------------------------------------------------------------------------------------- actions
    @action("cannot start training")
    def launch(self, config: Any, name: str | None = None) -> TrainingJob:
        """Start training ``config`` (a TrainConfig or its dict) in the background and follow it."""
        if self.active:
            raise ConfigError(f"run {self.run_name!r} is still {self.status}; stop it or wait for it before starting "
                              "another one here")
        job = launch_training(self.project, config, name=name)
        self._follow(job)
        self.message = f"started run {self.run_name} ({job.run_id[:8]}) in process {job.pid}"
        return job

    @action("cannot follow the run")
    def watch(self, run: str | Run) -> Run:
        """Follow an existing run (started here, elsewhere, or finished long ago)."""
        job = attach(self.project, run)
        self._follow(job)
        return job.run

    def _follow(self, job: TrainingJob) -> None:
        self.job = job
        run = job.run
        self.param.update(run_id=run.id, run_name=run.name, stopping=False, epoch=0, progress=0.0, history=None,
                          throughput=None, run_error="", device="", resumed=0)
        self.epochs = int((run.config or {}).get("epochs") or 0)
        self.poll()

    @action("cannot stop the run")
    def stop(self, grace: float = 10.0) -> None:
        """Ask the run to stop cleanly; returns at once (one flag written to the store). The worker reads the flag
        every 50 training steps and at each epoch end, cuts the current epoch short there, logs and checkpoints
        the epochs done and ends the run ``stopped``; its process group gets SIGTERM if it is still alive after
        ``grace`` seconds. The message says so, and goes away once the run has stopped."""
        if self.job is None or not self.active:
            raise ConfigError("no run is active; there is nothing to stop")
        self.job.stop(grace=grace)
        self.stopping = True
        if self.status == "queued":
            self.message = f"stopping {self.run_name}: it has not started training yet and ends as soon as it starts"
        else:
            self.message = (f"stopping {self.run_name}: the current epoch ends early (within 50 steps), then it is "
                            "logged and checkpointed and the run ends 'stopped'; Resume continues it from there")

    @action("cannot resume the run")
    def resume(self, epochs: int | None = None) -> TrainingJob:
        """Continue the followed (stopped, failed or crashed) run in place from its latest checkpoint: the same
        run, its curve continued. ``epochs`` raises the total epoch count."""
        if not self.run_id:
            raise ConfigError("no run to resume; launch or select one first")
        if self.active:
            raise ConfigError(f"run {self.run_name!r} is still {self.status}; it can be resumed once it ended")
        job = resume_training(self.project, self.run_id, epochs=epochs)
        self._follow(job)
        self.message = f"resumed run {self.run_name} ({job.run_id[:8]}) from epoch {self.epoch}"
        return job

    # ------------------------------------------------------------------------------------------- polling
    @action("cannot read the run")
    def poll(self) -> bool:
        """Refresh from the store; returns True while the run is active (keep polling)."""
        if self.job is None:
            return False
        status = self.job.poll()
        if status == "running" and self.job.pid is None:  # trained by another process: is it still alive?
            self.project.sweep_crashed()
            status = self.job.run.status
        info = self.job.run.info()
        history = self.job.run.metrics()
        epoch_rows = history[~history["key"].str.startswith("test_")]
        done = int(epoch_rows["step"].max()) + 1 if len(epoch_rows) else 0
        throughput = _throughput(epoch_rows)
        active = status not in FINAL_STATUSES
        epochs = self.epochs or done
        progress = 100.0 if status == "finished" else (100.0 * done / epochs if epochs else 0.0)
        if self.active and not active:
            self.message = ""  # the run ended (also a stop that was asked): the status line says how
        self.param.update(status=status, epoch=done, progress=min(progress, 100.0), history=history,
                          throughput=throughput, device=info.get("device") or "", active=active,
                          run_error=(info.get("error") or "") if status in ("failed", "crashed") else "",
                          stopping=self.stopping and active, resumed=int(info.get("resumed") or 0))
        return active

    def can_resume(self) -> bool:
        """True when the followed run is stopped, failed or crashed and was started from a training config (a
        finished run has nothing left to train)."""
        if not self.run_id or self.active or self.status not in RESUMABLE_STATUSES:
            return False
        try:
            return bool(self.project.get_run(self.run_id).config)
        except Exception:  # noqa: BLE001 - a run deleted meanwhile only means: not resumable
            return False

    def curves(self, keys: tuple[str, ...] = _CURVE_KEYS) -> pd.DataFrame:
        """The per-epoch curves (long: ``key, step, value``) of the followed run."""
        if self.history is None or self.history.empty:
            return pd.DataFrame(columns=["key", "step", "value"])
        return self.history[self.history["key"].isin(keys)][["key", "step", "value"]]

    def figure(self) -> Any:
        """One chart per metric (train and validation together), smoothed and on a log scale as set; ``None``
        before the first epoch."""
        frame = self.curves()
        if frame.empty:
            return None
        return charts.metric_charts(frame, smoothing=self.smoothing, log_y=self.log_y,
                                    title=f"{self.run_name}: {self.status}")

    def status_text(self) -> str:
        """One line for the status bar."""
        if not self.run_id:
            return "no run yet"
        parts = [f"run {self.run_name} ({self.run_id[:8]}): {self.status}", f"epoch {self.epoch}/{self.epochs}"]
        if self.resumed:
            parts.append(f"resumed {self.resumed}x")
        if self.throughput:
            parts.append(f"{self.throughput:,.0f} samples/s")
        if self.device:
            parts.append(f"on {self.device}")
        if self.stopping:
            parts.append("stopping...")
        return ", ".join(parts)


def _throughput(epochs: pd.DataFrame) -> float | None:
    """Samples per second over every epoch logged: sum(samples) / sum(time), so one slow epoch (a first one that
    warms up, a machine busy for a moment) does not make the number jump.

    >>> rows = pd.DataFrame({"key": ["samples_per_sec", "epoch_time"] * 2, "step": [0, 0, 1, 1],
    ...                      "value": [100.0, 10.0, 1000.0, 1.0]})
    >>> round(_throughput(rows), 1)  # 2,000 samples in 11 s
    181.8
    """
    wide = epochs[epochs["key"].isin(["samples_per_sec", "epoch_time"])].pivot_table(
        index="step", columns="key", values="value")
    if "samples_per_sec" not in wide.columns:
        return None
    if "epoch_time" not in wide.columns:  # speeds without their durations: the median is robust to one outlier
        speeds = wide["samples_per_sec"][wide["samples_per_sec"].map(math.isfinite)]
        return float(speeds.median()) if len(speeds) else None
    wide = wide.dropna()
    wide = wide[(wide["epoch_time"] > 0) & wide["samples_per_sec"].map(math.isfinite)]
    if wide.empty:
        return None
    return float((wide["samples_per_sec"] * wide["epoch_time"]).sum() / wide["epoch_time"].sum())
