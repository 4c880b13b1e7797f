"""StoreCallback: a trainer callback that records a training run in the project store.

Per epoch it writes the epoch's logs as metrics (one transaction) and reads the run's stop flag; with
``check_stop_every=N`` it also reads the flag every N optimizer steps (one primary-key lookup; it never touches
the loss tensor, so it adds no GPU synchronisation). When the flag is set (the UI's stop button,
:meth:`Run.request_stop`), it calls ``trainer.stop()``: the epoch ends at the next step, its logs are still
written, and the run ends ``stopped``. Under ``torch.distributed`` only rank 0 writes; other ranks do nothing.
Each epoch also records the process's system metrics (``sys_cpu_percent``, ``sys_rss_mb``, and ``sys_gpu_mem_mb``
on CUDA: :func:`~tesla_lab.store.system.system_metrics`); at the end, the model's size as params ``n_params``,
``dense_params`` and ``compression`` (dense-equivalent / stored: what a tensor-train layer saves).

>>> import tempfile, torch
>>> from tesla_lab.store import Project
>>> from tesla_lab.train import Trainer
>>> run = Project.init(tempfile.mkdtemp()).start_run(name="linear")
>>> _ = Trainer(device="cpu", callbacks=[StoreCallback(run)]).fit(
...     torch.nn.Linear(2, 1), torch.randn(16, 2), torch.randn(16), epochs=2)
>>> run.status, sorted(run.history().index), "model" in set(run.artifacts()["name"])
('finished', [0, 1], True)
>>> run.params()["n_params"], run.params()["compression"], "sys_rss_mb" in run.history().columns
(3, 1.0, True)
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from typing import TYPE_CHECKING, Any

from tesla_lab.errors import ConfigError
from tesla_lab.store.retention import check_keep, prune_checkpoints
from tesla_lab.store.runs import Run, format_error
from tesla_lab.store.system import SystemMonitor, model_size
from tesla_lab.train.callbacks import Callback
from tesla_lab.train.checkpoint import checkpoint_path
from tesla_lab.train.launch import lost_peer_cause
from tesla_lab.train.signals import StopOnSignal

if TYPE_CHECKING:
    from tesla_lab.train.trainer import Trainer

__all__ = ["StoreCallback"]

logger = logging.getLogger(__name__)


def _is_rank_zero() -> bool:
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def _plain_model(model: Any) -> Any:
    model = getattr(model, "_orig_mod", model)  # torch.compile wrapper
    return getattr(model, "module", model)  # DistributedDataParallel / DataParallel


class StoreCallback(Callback):
    """Record a :class:`~tesla_lab.train.Trainer` fit in ``run``.

    Args:
        run: the :class:`Run` to write to (``project.start_run(...)``).
        check_stop_every: also check the stop flag every this many optimizer steps (``None`` or 0: only at
            epoch ends, and the trainer then makes no per-step call at all).
        log_model: store the final ``state_dict`` as the run's ``'model'`` artifact (what
            ``registry.register_model(name, run_id=run.id)`` picks up).
        checkpoint_every: store a full-resume checkpoint as an artifact every this many epochs (and after the
            last one); ``run.latest_checkpoint()`` gives a path for ``fit(resume=path)``.
        keep_checkpoints: which stored checkpoints survive a new one: ``"last+best"`` (default: the last, for
            resume, and the best by ``monitor``), an integer N (the last N) or ``"all"``
            (:func:`~tesla_lab.store.retention.prune_checkpoints`).
        monitor: the metric that picks the best checkpoint (default ``val_loss`` when logged, else ``loss``).
        stop_on_signal: on SIGINT / SIGTERM (main thread only) stop after the current step, store a checkpoint of
            that state and end the run ``stopped`` (:class:`~tesla_lab.train.StopOnSignal`); a second signal
            interrupts at once.
        log_params: record the trainer's settings (epochs, batch size, ...) as params, and at the end the model's
            size (``n_params``, ``dense_params``, ``compression``).
        log_system: record the process's CPU %, resident memory and (on CUDA) peak GPU memory every epoch.
        finish: end the run when training ends; ``False`` leaves it running (several ``fit`` calls in one run).

    >>> StoreCallback(None, check_stop_every=-1)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: check_stop_every must be an integer >= 0 or None (...); got -1
    """

    def __init__(
        self,
        run: Run,
        check_stop_every: int | None = 50,
        *,
        log_model: bool = True,
        checkpoint_every: int | None = None,
        log_params: bool = True,
        finish: bool = True,
        keep_checkpoints: int | str = "last+best",
        monitor: str | None = None,
        stop_on_signal: bool = False,
        log_system: bool = True,
    ) -> None:
        if check_stop_every is not None and (isinstance(check_stop_every, bool) or not isinstance(check_stop_every, int)
                                             or check_stop_every < 0):
            raise ConfigError("check_stop_every must be an integer >= 0 or None (steps between stop-flag checks); "
                              f"got {check_stop_every!r}")
        if checkpoint_every is not None and (isinstance(checkpoint_every, bool) or not isinstance(checkpoint_every, int)
                                             or checkpoint_every < 1):
            raise ConfigError(f"checkpoint_every must be an integer >= 1 or None; got {checkpoint_every!r}")
        if run is not None and not isinstance(run, Run):
            raise ConfigError(f"StoreCallback needs a tesla_lab.store.Run (project.start_run()); got "
                              f"{type(run).__name__}")
        self.keep_checkpoints = check_keep(keep_checkpoints)
        self.monitor = monitor
        self.signals = StopOnSignal() if stop_on_signal else None
        self.run = run
        self.check_stop_every = check_stop_every or None
        self.log_model = log_model
        self.checkpoint_every = checkpoint_every
        self.log_params = log_params
        self.finish = finish
        self.stopped_by_flag = False
        self.system = SystemMonitor() if log_system else None
        self._active = True

    @property
    def stopped_by_signal(self) -> bool:
        """True when a SIGINT / SIGTERM stopped this fit (``stop_on_signal=True``)."""
        return self.signals is not None and self.signals.received is not None

    def wants_batch_end(self) -> bool:
        return self.check_stop_every is not None

    def _check_stop(self, trainer: Trainer) -> None:
        if not self.stopped_by_flag and self.run.stop_requested():
            self.stopped_by_flag = True
            logger.info("run %s: stop requested from the store; stopping at the next step", self.run.id[:8])
            trainer.stop()

    def on_train_begin(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        self._active = _is_rank_zero()
        if not self._active:
            return
        self.stopped_by_flag = False
        if self.signals is not None:
            self.signals.on_train_begin(trainer, logs)
        self.run.start(device=str(trainer.device) if trainer.device is not None else None)
        if self.system is not None:
            self.system.start(trainer.device)
        if self.log_params:
            history = getattr(trainer, "history", None)
            params = dict(getattr(history, "params", {}) or {})
            params.update({"precision": str(trainer.precision), "grad_clip": trainer.grad_clip,
                           "seed": trainer.seed})
            with contextlib.suppress(ConfigError):  # a param that is not JSON-like is skipped, not fatal
                self.run.log_params({k: v for k, v in params.items() if v is not None})
        self._check_stop(trainer)  # a run stopped while queued does not start training

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> None:
        if self._active and self.check_stop_every and (step + 1) % self.check_stop_every == 0:
            self._check_stop(trainer)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if not self._active:
            return
        system = self.system.sample() if self.system is not None else {}
        self.run.log_metrics({**logs, **system}, step=epoch)  # one transaction for the whole epoch
        if self.checkpoint_every and ((epoch + 1) % self.checkpoint_every == 0 or epoch + 1 == trainer.epochs):
            self._store_checkpoint(trainer, epoch + 1)
        self._check_stop(trainer)

    def _store_checkpoint(self, trainer: Trainer, epochs_done: int) -> None:
        artifacts = self.run.artifact_store
        artifacts.root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=artifacts.root, prefix=".ckpt-") as tmp:
            path = trainer.save_checkpoint(checkpoint_path(tmp, epochs_done))
            self.run.log_artifact(path.name, path, kind="checkpoint")
        prune_checkpoints(self.run, self.keep_checkpoints, self.monitor)

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        if not self._active:
            return
        if self.signals is not None:
            self.signals.on_train_end(trainer, logs)
        # a stopped run can be resumed from its end; unless this fit trained no epoch (stopped before its first
        # step): then its state is the checkpoint it resumed from, or an untrained model (resume starts over)
        if (self.checkpoint_every or self.stopped_by_signal) and trainer.stop_training and (
                trainer.epochs_done > trainer.initial_epoch) and (
                not self.checkpoint_every or trainer.epochs_done % self.checkpoint_every):
            self._store_checkpoint(trainer, trainer.epochs_done)
        if self.stopped_by_signal:
            logger.warning("run %s: stopped by %s after %d epochs; its checkpoint holds them (resume: tesla train "
                           "--resume %s)", self.run.id[:8], self.signals.received,  # type: ignore[union-attr]
                           trainer.epochs_done, self.run.id)
        if self.log_model and trainer.model is not None:
            self.run.log_model(_plain_model(trainer.model))
        if self.log_params and trainer.model is not None:
            with contextlib.suppress(ConfigError):
                self.run.log_params(model_size(_plain_model(trainer.model)))
        if self.finish:
            self.run.finish("stopped" if self.stopped_by_flag or self.stopped_by_signal else "finished")

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        if self.signals is not None:
            self.signals.on_exception(trainer, exc)
        if not self._active:
            return
        if isinstance(exc, KeyboardInterrupt):
            self.run.finish("stopped", error="KeyboardInterrupt")
        else:
            cause = lost_peer_cause(exc, self.run.id)  # a node of a multi-node run died: say so first
            self.run.finish("failed", error=(f"{cause}\n\n" if cause else "") + format_error(exc))
