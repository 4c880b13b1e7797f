"""Loss functions: PyTorch's own, plus look-up by name (``compile(loss='cross_entropy')``).

``CrossEntropyLoss`` and ``BCEWithLogitsLoss`` follow Keras: when the model ends in a TESLA ``softmax`` /
``sigmoid`` activation, the loss reads the values that went INTO that activation (the logits) instead of the
probabilities it gets, so a softmax model trains exactly as the same model without the softmax. The output tensor
carries its logits (:func:`attach_logits`); ``model(x)`` and ``predict`` still return probabilities.

>>> import torch, tesla_lab as tesla
>>> loss = tesla.loss.get_loss("mse")
>>> float(loss(torch.tensor([1.0, 3.0]), torch.tensor([1.0, 1.0])))
2.0
>>> z = torch.tensor([[2.0, 0.0]]); y = torch.tensor([0])
>>> probs = attach_logits(torch.softmax(z, dim=1), z, "softmax", dim=1)
>>> bool(tesla.loss.CrossEntropyLoss()(probs, y) == torch.nn.functional.cross_entropy(z, y))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import HuberLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss

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
    "attach_logits",
    "logits_of",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_LOGITS_ATTR = "_tesla_logits"


def attach_logits(output: torch.Tensor, logits: torch.Tensor, kind: str, dim: int = -1) -> torch.Tensor:
    """Record on ``output`` (the result of a softmax / sigmoid) the ``logits`` it was computed from; returns it.

    Nothing is recorded while tracing, compiling or exporting (the graph keeps only the probabilities).

    >>> z = torch.zeros(1, 2)
    >>> p = attach_logits(torch.softmax(z, 1), z, "softmax", dim=1)
    >>> logits_of(p, "softmax") is z
    True
    """
    if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.compiler.is_compiling():
        return output
    # the version counter tells whether the probabilities were changed in place after the activation
    setattr(output, _LOGITS_ATTR, (logits, kind, dim % output.ndim if output.ndim else 0, output._version))
    return output


def logits_of(output: torch.Tensor, kind: str, class_dim: int = 1) -> torch.Tensor:
    """The logits recorded on ``output`` by a ``kind`` activation ('softmax' or 'sigmoid'), else ``output``.

    Only used when the activation was taken over ``class_dim`` (the class axis of the loss) and ``output`` was not
    modified in place since.

    >>> t = torch.ones(2)
    >>> logits_of(t, "sigmoid") is t
    True
    """
    record = getattr(output, _LOGITS_ATTR, None)
    if record is None:
        return output
    logits, recorded_kind, dim, version = record
    if recorded_kind != kind or version != output._version or logits.shape != output.shape:
        return output
    if kind == "softmax" and dim != class_dim % max(output.ndim, 1):
        return output
    return logits


class CrossEntropyLoss(nn.CrossEntropyLoss):
    """PyTorch's cross entropy (it takes logits), which also accepts the output of a TESLA ``softmax`` layer: then
    it uses the logits that went into the softmax (Keras semantics), so the model trains as if it had none.

    >>> z = torch.tensor([[1.0, -1.0], [0.5, 2.0]]); y = torch.tensor([0, 1])
    >>> from tesla_lab.nn import Softmax
    >>> bool(CrossEntropyLoss()(Softmax(dim=-1)(z), y) == CrossEntropyLoss()(z, y))
    True
    """

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # noqa: A002 (torch's name)
        return super().forward(logits_of(input, "softmax"), target)


class BCEWithLogitsLoss(nn.BCEWithLogitsLoss):
    """PyTorch's binary cross entropy on logits, which also accepts the output of a TESLA ``sigmoid`` layer: then
    it uses the logits that went into the sigmoid (Keras semantics).

    >>> from tesla_lab.nn import Sigmoid
    >>> z = torch.tensor([1.5, -0.5]); y = torch.tensor([1.0, 0.0])
    >>> bool(BCEWithLogitsLoss()(Sigmoid()(z), y) == BCEWithLogitsLoss()(z, y))
    True
    """

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # noqa: A002
        return super().forward(logits_of(input, "sigmoid"), target)


LOSSES: Registry[torch.nn.Module] = Registry("loss")
LOSSES.register("cross_entropy", CrossEntropyLoss, "crossentropy", "categorical_crossentropy",
                "sparse_categorical_crossentropy", "ce")
LOSSES.register("mse", MSELoss, "mean_squared_error", "l2")
LOSSES.register("mae", L1Loss, "l1", "mean_absolute_error")
LOSSES.register("huber", HuberLoss)
LOSSES.register("smooth_l1", SmoothL1Loss)
LOSSES.register("binary_cross_entropy", BCEWithLogitsLoss, "bce", "binary_crossentropy", "bce_with_logits")
LOSSES.register("nll", NLLLoss)


def _logits_aware(loss: Any) -> Any:
    """PyTorch's own ``CrossEntropyLoss`` / ``BCEWithLogitsLoss`` -> the TESLA subclass with the same settings."""
    if type(loss) is nn.CrossEntropyLoss:
        new: nn.Module = CrossEntropyLoss(weight=loss.weight, ignore_index=loss.ignore_index,
                                          reduction=loss.reduction, label_smoothing=loss.label_smoothing)
    elif type(loss) is nn.BCEWithLogitsLoss:
        new = BCEWithLogitsLoss(weight=loss.weight, reduction=loss.reduction, pos_weight=loss.pos_weight)
    else:
        return loss
    return new.train(loss.training)


def get_loss(loss: str | LossFn) -> LossFn:
    """Return a loss module for a name, or ``loss`` itself when it is already callable.

    PyTorch's ``CrossEntropyLoss`` / ``BCEWithLogitsLoss`` are swapped for the TESLA ones with the same settings,
    which also understand a final ``softmax`` / ``sigmoid`` layer.

    >>> type(get_loss(torch.nn.CrossEntropyLoss(label_smoothing=0.1))).__module__
    'tesla_lab.loss'
    >>> get_loss("hinge")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown loss 'hinge'; choose one of: bce, bce_with_logits, binary_cross_entropy, \
binary_crossentropy, categorical_crossentropy, ce, cross_entropy, crossentropy, huber, l1, l2, mae, \
mean_absolute_error, mean_squared_error, mse, nll, smooth_l1, sparse_categorical_crossentropy
    """
    if callable(loss):
        return _logits_aware(loss)
    return LOSSES.get(loss)()


def is_classification_loss(loss: LossFn) -> bool:
    """True for losses that take integer class labels as targets (cross entropy, NLL).

    >>> is_classification_loss(CrossEntropyLoss()), is_classification_loss(MSELoss())
    (True, False)
    """
    return isinstance(loss, (nn.CrossEntropyLoss, NLLLoss))
