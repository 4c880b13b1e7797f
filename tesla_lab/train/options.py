"""Options of :class:`~tesla_lab.train.Trainer` and its ``fit``: their names, their checks, the optimizer.

>>> _check_int("epochs", 3, 1)
3
>>> _check_int("epochs", 0, 1)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: epochs must be an integer >= 1; got 0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tesla_lab.errors import ConfigError
from tesla_lab.optim import get_optimizer

__all__ = ["TRAINER_OPTIONS", "FIT_OPTIONS"]

TRAINER_OPTIONS = ("device", "precision", "grad_clip", "callbacks", "seed", "checkpoint_dir", "checkpoint_every",
                   "keep_checkpoints", "progress", "strategy")
FIT_OPTIONS = ("optimizer", "loss_fn", "epochs", "batch_size", "lr", "validation_data", "validation_split",
               "shuffle", "metrics", "resume", "initial_epoch")


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


def _check_fit_options(epochs: Any, batch_size: Any, initial_epoch: Any, validation_split: Any,
                       validation_data: Any, resume: Any, checkpoint_dir: Path | None) -> tuple[int, int, int]:
    """Check ``fit``'s options before anything changes; returns ``(epochs, batch_size, initial_epoch)``."""
    epochs = _check_int("epochs", epochs, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    initial_epoch = _check_int("initial_epoch", initial_epoch, 0)
    if not 0.0 <= float(validation_split) < 1.0:
        raise ConfigError(f"validation_split must be in [0, 1) (a fraction held out); got {validation_split!r}")
    if validation_split and validation_data is not None:
        raise ConfigError("pass either validation_data or validation_split, not both")
    if resume and initial_epoch:
        raise ConfigError("pass either resume or initial_epoch: resume takes the epoch from the checkpoint")
    if initial_epoch >= epochs:
        raise ConfigError(
            f"initial_epoch={initial_epoch} leaves nothing to train with epochs={epochs}; epochs is the total "
            f"count (Keras-style), so pass epochs > {initial_epoch}"
        )
    if resume and resume is not True and not isinstance(resume, (str, Path)):
        raise ConfigError(f"resume must be True, False or a checkpoint path; got {resume!r}")
    if resume is True and checkpoint_dir is None:
        raise ConfigError("resume=True needs Trainer(checkpoint_dir=...) to find the latest checkpoint, or pass "
                          "resume='path/to/checkpoint.pt'")
    return epochs, batch_size, initial_epoch


def _make_optimizer(optimizer: Any, model: torch.nn.Module, lr: float | None) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters (all have requires_grad=False)")
    if not isinstance(optimizer, torch.optim.Optimizer):
        return get_optimizer(optimizer, params, lr=lr)
    own = {id(p) for g in optimizer.param_groups for p in g["params"]}
    if not own & {id(p) for p in params}:
        raise ConfigError(
            "the optimizer instance is bound to other parameters than this model's (was the model rebuilt after the "
            "optimizer?); build it from model.parameters() or pass its name, e.g. optimizer='adam'"
        )
    if lr is not None:  # an explicit lr overrides the instance's
        for group in optimizer.param_groups:
            group["lr"] = lr
    return optimizer
