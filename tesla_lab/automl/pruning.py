"""Pruning: stop a torch trial early when its per-epoch validation loss is worse than the other trials' at the
same epoch (Optuna's median rule or successive halving).

The trainer already computes ``val_loss`` after every epoch; :class:`PruningCallback` reports it to the Optuna
trial (negated when the study maximizes its metric, so "better" points the study's way) and stops training when
the pruner says so. The trial then ends ``pruned``: in the leaderboard, in Optuna, and as a ``stopped`` child run.
scikit-learn trials have no epochs and are never pruned.

>>> make_pruner("median", startup_trials=3).__class__.__name__
'MedianPruner'
>>> make_pruner("halvng")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: unknown pruner 'halvng' (did you mean 'halving'?); choose one of: median, halving, none
"""

from __future__ import annotations

import difflib
import logging
import math
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.train import Callback

__all__ = ["PRUNERS", "make_pruner", "PruningCallback"]

logger = logging.getLogger(__name__)

PRUNERS = ("median", "halving", "none")


def check_pruner(name: Any) -> str:
    """``name`` if it is one of :data:`PRUNERS`, else a :class:`ConfigError` naming the choices.

    >>> check_pruner("none")
    'none'
    """
    if not isinstance(name, str) or name not in PRUNERS:
        close = difflib.get_close_matches(str(name), PRUNERS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"unknown pruner {name!r}{hint}; choose one of: {', '.join(PRUNERS)}")
    return name


def make_pruner(name: str, *, startup_trials: int = 5) -> Any:
    """The Optuna pruner ``name`` stands for: ``'median'`` (``MedianPruner``: prune a trial whose loss at an epoch
    is worse than the median of earlier trials at that epoch, once ``startup_trials`` trials have finished),
    ``'halving'`` (``SuccessiveHalvingPruner``: keep the best quarter at each rung of epochs) or ``'none'``."""
    import optuna

    name = check_pruner(name)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=0)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


class PruningCallback(Callback):
    """Reports each epoch's ``val_loss`` to an Optuna ``trial`` and stops training when it should be pruned.

    Args:
        trial: the Optuna trial.
        maximize: the study maximizes its metric: the loss is reported negated.
        monitor: the epoch log to report (the trainer's validation loss by default).

    ``pruned_at`` is the epoch (0-based) at which training was stopped, or ``None``.

    >>> class Trial:
    ...     def __init__(self): self.reported = []
    ...     def report(self, value, step): self.reported.append((value, step))
    ...     def should_prune(self): return len(self.reported) == 2
    >>> class Trainer:
    ...     stopped = False
    ...     def stop(self): self.stopped = True
    >>> cb, trainer = PruningCallback(Trial(), maximize=True), Trainer()
    >>> cb.on_epoch_end(trainer, 0, {"val_loss": 0.5}); trainer.stopped
    False
    >>> cb.on_epoch_end(trainer, 1, {"val_loss": 0.4}); trainer.stopped, cb.pruned_at, cb.trial.reported
    (True, 1, [(-0.5, 0), (-0.4, 1)])
    """

    def __init__(self, trial: Any, *, maximize: bool, monitor: str = "val_loss") -> None:
        self.trial, self.maximize, self.monitor = trial, bool(maximize), monitor
        self.pruned_at: int | None = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, Any]) -> None:
        value = logs.get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return  # a diverged epoch is the trial's own failure, not a pruning decision
        self.trial.report(-float(value) if self.maximize else float(value), epoch)
        if self.trial.should_prune():
            self.pruned_at = epoch
            logger.info("trial %s pruned after epoch %d (%s %.4g)", getattr(self.trial, "number", "?"), epoch,
                        self.monitor, float(value))
            trainer.stop()
