"""Callbacks: hooks the trainer calls around epochs, plus History, EarlyStopping, ModelCheckpoint, ProgressBar.

Hooks (all optional; ``logs`` is a dict of Python floats):

* ``on_train_begin(trainer, logs)`` / ``on_train_end(trainer, logs)``
* ``on_epoch_begin(trainer, epoch, logs)`` / ``on_epoch_end(trainer, epoch, logs)`` -- ``epoch`` counts from 0
* ``on_batch_end(trainer, step, logs)`` -- called only for callbacks that override it, so the training loop pays
  nothing per step otherwise. Its ``logs["loss"]`` is a device tensor: calling ``.item()`` on it synchronises
  the GPU, so do it every N steps, not every step.
* ``on_exception(trainer, exc)`` -- training raised; clean up (close bars, files).

A callback stops training with ``trainer.stop()`` (or ``trainer.stop_training = True``): the current epoch ends
at the next step and its logs and checkpoint are still written.

In a distributed fit (``Trainer(strategy='ddp')``) every process runs the callbacks, with the same global
``logs``, except those with ``rank_zero_only = True`` (the progress bar, your logging callbacks), which run on
rank 0 only. A stop asked on any rank stops every rank (see :mod:`tesla_lab.train.distributed`).

>>> import torch
>>> from tesla_lab.train import Trainer
>>> seen = []
>>> cb = LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: seen.append(epoch))
>>> _ = Trainer(callbacks=[cb], device="cpu").fit(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8), epochs=2)
>>> seen
[0, 1]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from tesla_lab.errors import ConfigError
from tesla_lab.train.checkpoint import checkpoint_path, prune_checkpoints

if TYPE_CHECKING:
    import pandas as pd

    from tesla_lab.train.trainer import Trainer

__all__ = ["Callback", "History", "EarlyStopping", "ModelCheckpoint", "ProgressBar", "LambdaCallback",
           "metric_mode"]

logger = logging.getLogger(__name__)

_HIGHER_IS_BETTER = ("acc", "auc", "f1", "precision", "recall", "r2", "samples_per_sec", "iou", "dice")


def metric_mode(name: str, mode: str = "auto") -> str:
    """``'min'`` or ``'max'``: whether a smaller or larger value of metric ``name`` is better.

    ``'auto'`` picks ``'max'`` for accuracy-like names (acc, auc, f1, precision, recall, r2, ...) and ``'min'``
    for everything else (losses and errors).

    >>> metric_mode("val_accuracy"), metric_mode("val_loss"), metric_mode("mae", "max")
    ('max', 'min', 'max')
    """
    if mode not in ("auto", "min", "max"):
        raise ConfigError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}")
    if mode != "auto":
        return mode
    return "max" if any(key in name.lower() for key in _HIGHER_IS_BETTER) else "min"


def _improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if value is None or math.isnan(value):
        return False
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class Callback:
    """Base class: override the hooks you need (see the module docstring for their order and arguments).

    >>> class CountEpochs(Callback):
    ...     def __init__(self):
    ...         self.n = 0
    ...     def on_epoch_end(self, trainer, epoch, logs):
    ...         self.n += 1
    >>> CountEpochs().wants_batch_end()
    False

    Set the class attribute ``rank_zero_only = True`` for a callback that only logs or writes files: in a
    distributed fit it then runs on rank 0 only.
    """

    rank_zero_only: bool = False

    def on_train_begin(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, trainer: Trainer, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Called before each epoch (``epoch`` counts from 0)."""

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> None:
        """Called after each optimizer step, only when a subclass overrides it. ``step`` counts optimizer steps
        over the whole fit; ``logs`` holds ``loss`` (a device tensor), ``batch`` (index in the epoch), ``size``
        and ``epoch``."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        """Called after each epoch with its logs (``loss``, metrics, ``val_*``, ``epoch_time``, ...)."""

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        """Called once after the last epoch (also after an early stop)."""

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        """Called when training raises, before the exception propagates."""

    def wants_batch_end(self) -> bool:
        """True when ``on_batch_end`` does something (the trainer calls it per step only then)."""
        return type(self).on_batch_end is not Callback.on_batch_end

    def state_dict(self) -> dict[str, Any]:
        """State to store in checkpoints so a resumed run continues where it stopped (tensors / plain types)."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class History(Callback):
    """Per-epoch logs, Keras-style: ``history.history['val_loss']`` is a list with one float per epoch and
    ``history.epoch`` the matching epoch indices.

    >>> h = History()
    >>> h.on_epoch_end(None, 0, {"loss": 0.9, "val_loss": 1.0}); h.on_epoch_end(None, 1, {"loss": 0.5, "val_loss": 0.7})
    >>> h.history["loss"], h.epoch, h.best("val_loss"), h.best_epoch("val_loss")
    ([0.9, 0.5], [0, 1], 0.7, 1)
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.params: dict[str, Any] = {}

    def on_epoch_end(self, trainer: Trainer | None, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            # keys that appear late (or vanish) stay aligned with `epoch`: earlier epochs read NaN
            self.history.setdefault(key, [math.nan] * (len(self.epoch) - 1)).append(float(value))
        for values in self.history.values():
            if len(values) < len(self.epoch):
                values.append(math.nan)

    def _pick(self, metric: str | None) -> str:
        if metric is None:
            metric = "val_loss" if "val_loss" in self.history else "loss"
        if metric not in self.history:
            raise ConfigError(
                f"no metric {metric!r} in this history; it has: {', '.join(self.history) or '(nothing yet)'}"
            )
        return metric

    def best_epoch(self, metric: str | None = None, mode: str = "auto") -> int:
        """Epoch index with the best value of ``metric`` (default ``val_loss``, else ``loss``)."""
        metric = self._pick(metric)
        values = self.history[metric]
        order = [i for i, v in enumerate(values) if not math.isnan(v)]
        if not order:
            raise ConfigError(f"metric {metric!r} has no finite value in this history")
        sign = 1.0 if metric_mode(metric, mode) == "min" else -1.0
        return self.epoch[min(order, key=lambda i: sign * values[i])]

    def best(self, metric: str | None = None, mode: str = "auto") -> float:
        """Best value of ``metric`` (default ``val_loss``, else ``loss``); ``mode`` as in :func:`metric_mode`."""
        metric = self._pick(metric)
        return self.history[metric][self.epoch.index(self.best_epoch(metric, mode))]

    def to_dataframe(self) -> pd.DataFrame:
        """The history as a pandas DataFrame, one row per epoch (index ``epoch``).

        >>> h = History(); h.on_epoch_end(None, 0, {"loss": 1.0}); h.to_dataframe()
               loss
        epoch
        0       1.0
        """
        import pandas as pd  # pandas is a dependency but only this method needs it

        return pd.DataFrame(self.history, index=pd.Index(self.epoch, name="epoch"))

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (stored in checkpoints); :meth:`from_dict` reverses it."""
        return {"history": {k: list(v) for k, v in self.history.items()}, "epoch": list(self.epoch),
                "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> History:
        """Rebuild a History from :meth:`to_dict` output.

        >>> History.from_dict({"history": {"loss": [1.0]}, "epoch": [0]}).history
        {'loss': [1.0]}
        """
        h = cls()
        if data:
            h.history = {k: [float(x) for x in v] for k, v in data.get("history", {}).items()}
            h.epoch = [int(e) for e in data.get("epoch", [])]
            h.params = dict(data.get("params", {}))
        return h

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        last = {k: round(v[-1], 4) for k, v in self.history.items() if v}
        return f"History(epochs={len(self.epoch)}, last={last})"


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    With ``restore_best_weights=True`` the model gets the weights of its best epoch back when training ends
    (also when it ran all epochs without stopping). A copy of the weights is kept on the training device.
    Checkpoints written during the run hold the LAST epoch's weights (what an exact resume needs); the best
    weights are restored in memory at the end.

    >>> import torch
    >>> from tesla_lab.train import Trainer
    >>> es = EarlyStopping(monitor="loss", patience=1, min_delta=1e9)  # nothing counts as an improvement
    >>> h = Trainer(callbacks=[es], device="cpu").fit(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8),
    ...                                               epochs=10)
    >>> len(h.epoch), es.stopped_epoch
    (2, 1)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto",
                 restore_best_weights: bool = True) -> None:
        if patience < 0:
            raise ConfigError(f"patience must be >= 0 epochs; got {patience}")
        if min_delta < 0:
            raise ConfigError(f"min_delta must be >= 0 (it is applied in the direction of `mode`); got {min_delta}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.mode = metric_mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None
        self._last_epoch: int | None = None

    def on_train_begin(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        keys = getattr(trainer, "log_keys", None)
        if keys and self.monitor not in keys:
            hint = " (pass validation_data= or validation_split= to fit, or monitor='loss')" if \
                self.monitor.startswith("val_") else ""
            raise ConfigError(
                f"EarlyStopping monitors {self.monitor!r} but the logs will hold only: {', '.join(keys)}{hint}"
            )

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ConfigError(f"EarlyStopping monitors {self.monitor!r} but the logs hold only: {', '.join(logs)}")
        value = logs[self.monitor]
        self._last_epoch = epoch
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                # clone on the model's device: no host transfer, no sync
                self.best_weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:  # Keras: stop after `patience` epochs without improvement
            self.stopped_epoch = epoch
            trainer.stop_training = True
            logger.info("early stopping at epoch %d: %s has not improved for %d epochs (best %.6g at epoch %s)",
                        epoch, self.monitor, self.wait, self.best if self.best is not None else math.nan,
                        self.best_epoch)

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        if self.restore_best_weights and self.best_weights is not None and self.best_epoch != self._last_epoch:
            # FSDP kept sharded copies (DTensor); full_tensor() gathers each one (every rank runs this callback)
            best = {k: v.full_tensor() if hasattr(v, "full_tensor") else v for k, v in self.best_weights.items()}
            trainer.model.load_state_dict(best)
            logger.info("restored the weights of epoch %s (best %s = %.6g)", self.best_epoch, self.monitor,
                        self.best)

    def state_dict(self) -> dict[str, Any]:
        return {"wait": self.wait, "best": self.best, "best_epoch": self.best_epoch,
                "best_weights": self.best_weights, "last_epoch": self._last_epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.wait = int(state.get("wait", 0))
        self.best = state.get("best")
        self.best_epoch = state.get("best_epoch")
        self.best_weights = state.get("best_weights")
        self._last_epoch = state.get("last_epoch")


class ModelCheckpoint(Callback):
    """Save full-resume checkpoints to ``dirpath`` every ``every_n_epochs`` epochs (``checkpoint-epochNNNN.pt``,
    keeping the newest ``keep``; ``None`` keeps all), and ``best.pt`` whenever ``monitor`` improves.

    In a distributed fit it runs on every rank (FSDP gathers the sharded state with a collective) and only
    rank 0 writes files.

    With ``save_best_only=True`` only ``best.pt`` is written (``monitor`` is then required). Checkpoints are the
    same files :class:`~tesla_lab.train.Trainer` writes with ``checkpoint_dir=``; load one with
    :func:`~tesla_lab.train.load_checkpoint` or resume with ``fit(resume='path')``.

    >>> import tempfile, torch
    >>> from tesla_lab.train import Trainer
    >>> mc = ModelCheckpoint(tempfile.mkdtemp(), monitor="loss")
    >>> _ = Trainer(callbacks=[mc], device="cpu").fit(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8),
    ...                                               epochs=2)
    >>> Path(mc.last_model_path).name, Path(mc.best_model_path).name
    ('checkpoint-epoch0002.pt', 'best.pt')
    """

    def __init__(self, dirpath: str | Path, every_n_epochs: int = 1, monitor: str | None = None,
                 save_best_only: bool = False, mode: str = "auto", keep: int | None = None) -> None:
        if every_n_epochs < 1:
            raise ConfigError(f"every_n_epochs must be >= 1; got {every_n_epochs}")
        if save_best_only and monitor is None:
            raise ConfigError("save_best_only=True needs monitor=... (e.g. monitor='val_loss') to know what 'best' is")
        if keep is not None and keep < 1:
            raise ConfigError(f"keep must be >= 1 or None (keep all); got {keep}")
        self.dirpath = Path(dirpath)
        self.every_n_epochs = int(every_n_epochs)
        self.monitor = monitor
        self.save_best_only = save_best_only
        self.mode = metric_mode(monitor, mode) if monitor else "min"
        self.keep = keep
        self.best: float | None = None
        self.best_model_path: str | None = None
        self.last_model_path: str | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor is not None:
            if self.monitor not in logs:
                raise ConfigError(
                    f"ModelCheckpoint monitors {self.monitor!r} but the logs hold only: {', '.join(logs)}"
                )
            if _improved(logs[self.monitor], self.best, self.mode):
                self.best = logs[self.monitor]
                self.best_model_path = str(trainer.save_checkpoint(self.dirpath / "best.pt"))
        if not self.save_best_only and (epoch + 1) % self.every_n_epochs == 0:
            self.last_model_path = str(trainer.save_checkpoint(checkpoint_path(self.dirpath, epoch + 1)))
            if self.keep is not None and getattr(trainer, "is_global_zero", True):  # rank 0 owns the files
                prune_checkpoints(self.dirpath, self.keep)

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_model_path": self.best_model_path}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = state.get("best")
        self.best_model_path = state.get("best_model_path")


class ProgressBar(Callback):
    """A ``tqdm.auto`` bar over epochs (a widget in Jupyter, text elsewhere), with the epoch's logs as postfix.

    It updates once per epoch, so it never synchronises the GPU per step. ``Trainer(progress=True)`` adds one.

    >>> import torch
    >>> from tesla_lab.train import Trainer
    >>> bar = ProgressBar(disable=True)
    >>> _ = Trainer(callbacks=[bar], device="cpu").fit(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8))
    >>> bar.bar is None  # closed at the end
    True
    """

    rank_zero_only = True  # one bar per job, not one per process

    def __init__(self, **tqdm_kwargs: Any) -> None:
        self.tqdm_kwargs = tqdm_kwargs
        self.bar: Any = None

    def on_train_begin(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        from tqdm.auto import tqdm

        kwargs = {"total": trainer.epochs, "initial": trainer.initial_epoch, "unit": "epoch", "desc": "train",
                  "dynamic_ncols": True, **self.tqdm_kwargs}
        self.bar = tqdm(**kwargs)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in logs.items() if k not in ("epoch_time", "lr")},
                                 refresh=False)
            self.bar.update(1)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        self._close()

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        self._close()


class LambdaCallback(Callback):
    """A callback made of plain functions with the hook signatures (without ``self``).

    ``rank_zero_only=True`` runs it on rank 0 only in a distributed fit.

    >>> cb = LambdaCallback(on_batch_end=lambda trainer, step, logs: None)
    >>> cb.wants_batch_end(), LambdaCallback().wants_batch_end()
    (True, False)
    """

    def __init__(
        self,
        on_train_begin: Callable[..., Any] | None = None,
        on_epoch_begin: Callable[..., Any] | None = None,
        on_epoch_end: Callable[..., Any] | None = None,
        on_train_end: Callable[..., Any] | None = None,
        on_batch_end: Callable[..., Any] | None = None,
        *,
        rank_zero_only: bool = False,
    ) -> None:
        self.rank_zero_only = bool(rank_zero_only)
        self._fns = {"on_train_begin": on_train_begin, "on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end,
                     "on_train_end": on_train_end, "on_batch_end": on_batch_end}
        for name, fn in self._fns.items():
            if fn is not None and not callable(fn):
                raise ConfigError(f"LambdaCallback({name}=...) must be a function; got {type(fn).__name__}")

    def on_train_begin(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        if self._fns["on_train_begin"]:
            self._fns["on_train_begin"](trainer, logs)

    def on_epoch_begin(self, trainer: Trainer, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self._fns["on_epoch_begin"]:
            self._fns["on_epoch_begin"](trainer, epoch, logs)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        if self._fns["on_epoch_end"]:
            self._fns["on_epoch_end"](trainer, epoch, logs)

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        if self._fns["on_train_end"]:
            self._fns["on_train_end"](trainer, logs)

    def on_batch_end(self, trainer: Trainer, step: int, logs: dict[str, Any]) -> None:
        if self._fns["on_batch_end"]:
            self._fns["on_batch_end"](trainer, step, logs)

    def wants_batch_end(self) -> bool:
        return self._fns["on_batch_end"] is not None
