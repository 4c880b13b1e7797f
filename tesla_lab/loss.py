"""Loss functions: PyTorch's own, plus look-up by name (``compile(loss='cross_entropy')``).

>>> import torch, tesla_lab as tesla
>>> loss = tesla.loss.get_loss("mse")
>>> float(loss(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0])))
2.0
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss

from tesla_lab._registry import Registry

__all__ = [
    "CrossEntropyLoss",
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "SmoothL1Loss",
    "BCEWithLogitsLoss",
    "NLLLoss",
    "LOSSES",
    "get_loss",
    "is_classification_loss",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

LOSSES: Registry[torch.nn.Module] = Registry("loss")
LOSSES.register("cross_entropy", CrossEntropyLoss, "crossentropy", "categorical_crossentropy",
                "sparse_categorical_crossentropy", "ce")
LOSSES.register("mse", MSELoss, "mean_squared_error", "l2")
LOSSES.register("mae", L1Loss, "l1", "mean_absolute_error")
LOSSES.register("huber", HuberLoss)
LOSSES.register("smooth_l1", SmoothL1Loss)
LOSSES.register("binary_cross_entropy", BCEWithLogitsLoss, "bce", "binary_crossentropy", "bce_with_logits")
LOSSES.register("nll", NLLLoss)


def get_loss(loss: str | LossFn) -> LossFn:
    """Return a loss module for a name, or ``loss`` itself when it is already callable.

    >>> get_loss("hinge")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown loss 'hinge'; choose one of: bce, bce_with_logits, binary_cross_entropy, \
binary_crossentropy, categorical_crossentropy, ce, cross_entropy, crossentropy, huber, l1, l2, mae, \
mean_absolute_error, mean_squared_error, mse, nll, smooth_l1, sparse_categorical_crossentropy
    """
    if callable(loss):
        return loss
    return LOSSES.get(loss)()


def is_classification_loss(loss: LossFn) -> bool:
    """True for losses that take integer class labels as targets (cross entropy, NLL).

    >>> is_classification_loss(CrossEntropyLoss()), is_classification_loss(MSELoss())
    (True, False)
    """
    return isinstance(loss, (CrossEntropyLoss, NLLLoss))
