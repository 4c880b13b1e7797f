"""One-call functions: ``tesla.train(model, X, y, optimizer, loss_fn, epochs)``, ``evaluate`` and ``predict``.

Keyword options are split between :class:`~tesla_lab.train.Trainer` (``device``, ``precision``, ``grad_clip``,
``callbacks``, ``seed``, ``checkpoint_dir``, ...) and :meth:`~tesla_lab.train.Trainer.fit` (``batch_size``,
``lr``, ``validation_split``, ``metrics``, ...), so every option of both is available here.

>>> import torch
>>> from tesla_lab.train import train, evaluate
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> X = torch.randn(64, 2); y = (X[:, 0] > 0).long()
>>> model = torch.nn.Linear(2, 2)
>>> h = train(model, X, y, "adam", "cross_entropy", 30, lr=0.1, device="cpu", seed=0)
>>> evaluate(model, X, y, device="cpu")["accuracy"] > 0.9
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from tesla_lab.errors import ConfigError
from tesla_lab.loss import get_loss, is_classification_loss
from tesla_lab.train.callbacks import History
from tesla_lab.train.trainer import FIT_OPTIONS, TRAINER_OPTIONS, Trainer
from tesla_lab.utils import to_tensor

__all__ = ["train", "evaluate", "predict"]

def _split(kwargs: dict[str, Any], allowed: Sequence[str], where: str) -> tuple[dict[str, Any], dict[str, Any]]:
    unknown = sorted(set(kwargs) - set(TRAINER_OPTIONS) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for {where}; choose from: "
            f"{', '.join(sorted({*TRAINER_OPTIONS, *allowed}))}"
        )
    trainer_kw = {k: v for k, v in kwargs.items() if k in TRAINER_OPTIONS}
    rest = {k: v for k, v in kwargs.items() if k not in TRAINER_OPTIONS}
    return trainer_kw, rest


def train(
    model: torch.nn.Module,
    X: Any,
    y: Any = None,
    optimizer: str | torch.optim.Optimizer | type[torch.optim.Optimizer] = "adam",
    loss_fn: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = "mse",
    epochs: int = 1,
    **kwargs: Any,
) -> History:
    """Train ``model`` in place and return its :class:`~tesla_lab.train.History`.

    ``kwargs`` are :class:`~tesla_lab.train.Trainer` options and :meth:`~tesla_lab.train.Trainer.fit` options.

    >>> import torch
    >>> train(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8), epochs=1, bacth_size=4)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown option(s) 'bacth_size' for train(); choose from: batch_size, callbacks, \
checkpoint_dir, checkpoint_every, device, grad_clip, initial_epoch, keep_checkpoints, lr, metrics, precision, \
progress, resume, seed, shuffle, strategy, validation_data, validation_split
    """
    fit_allowed = [k for k in FIT_OPTIONS if k not in ("optimizer", "loss_fn", "epochs")]
    trainer_kw, fit_kw = _split(kwargs, fit_allowed, "train()")
    return Trainer(**trainer_kw).fit(model, X, y, optimizer=optimizer, loss_fn=loss_fn, epochs=epochs, **fit_kw)


def _auto_metrics(loss: Any, y: Any) -> tuple[str, ...]:
    if loss is not None:
        return ("accuracy",) if is_classification_loss(loss) else ("mae",)
    if y is None:
        raise ConfigError("metrics='auto' needs loss_fn= or y to tell classification from regression; pass metrics=")
    return ("mae",) if to_tensor(y, name="y").is_floating_point() else ("accuracy",)


def evaluate(
    model: torch.nn.Module,
    X: Any,
    y: Any = None,
    loss_fn: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    metrics: Sequence[Any] | str = "auto",
    **kwargs: Any,
) -> dict[str, float]:
    """Loss (when ``loss_fn`` is given) and metrics of ``model`` on ``X``/``y``.

    ``metrics='auto'`` reports ``accuracy`` for classification (a cross-entropy/NLL loss, or integer ``y`` without
    a loss) and ``mae`` for regression. ``kwargs``: ``batch_size`` and Trainer options (``device``, ``precision``).

    >>> import torch
    >>> model = torch.nn.Linear(2, 1)
    >>> sorted(evaluate(model, torch.randn(8, 2), torch.randn(8), loss_fn="mse", device="cpu"))
    ['loss', 'mae']
    """
    trainer_kw, eval_kw = _split(kwargs, ["batch_size"], "evaluate()")
    loss = get_loss(loss_fn) if loss_fn is not None else None
    if isinstance(metrics, str) and metrics == "auto":
        metrics = _auto_metrics(loss, y)
    return Trainer(**trainer_kw).evaluate(model, X, y, loss_fn=loss, metrics=metrics, **eval_kw)


def predict(model: torch.nn.Module, X: Any, **kwargs: Any) -> torch.Tensor:
    """Outputs of ``model`` for ``X`` as a CPU tensor. ``kwargs``: ``batch_size`` and Trainer options.

    >>> import torch
    >>> predict(torch.nn.Linear(2, 3), torch.randn(4, 2), device="cpu").shape
    torch.Size([4, 3])
    """
    trainer_kw, pred_kw = _split(kwargs, ["batch_size"], "predict()")
    return Trainer(**trainer_kw).predict(model, X, **pred_kw)
