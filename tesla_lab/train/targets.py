"""How raw targets become what the loss expects, and what the trainer reads off a model (dtype, input width).

>>> import torch
>>> spec, label_max = _target_spec(torch.tensor([[0, 1], [1, 0]]), None, True, torch.float32)
>>> spec.one_hot, label_max, spec.apply(torch.tensor([[0, 1], [1, 0]])).tolist()
(True, 1, [1, 0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from tesla_lab.errors import DataError


@dataclass
class _TargetSpec:
    """How raw targets become what the loss expects; decided once, applied to whole tensors or to each batch."""

    classification: bool
    one_hot: bool = False  # (N, C) one-hot rows -> class indices (N,)
    squeeze_col: bool = False  # (N, 1) labels -> (N,)
    fix: str | None = None  # regression: 'unsqueeze' (N,) -> (N, 1) or 'squeeze' (N, 1) -> (N,) to match the output
    dtype: torch.dtype | None = torch.float32  # None: keep y's dtype (integer targets of a custom loss)
    classes: int = 0  # fix 'one_hot': integer labels (N,) -> one-hot rows (N, classes) for an element-wise loss

    def apply(self, y: torch.Tensor) -> torch.Tensor:
        if self.classification:
            if self.one_hot:
                y = y.argmax(dim=1)
            elif self.squeeze_col:
                y = y[:, 0]
            return y if y.dtype == torch.long else y.long()
        if self.dtype is not None and y.dtype != self.dtype:
            y = y.to(self.dtype)
        if self.fix == "unsqueeze":
            y = y.unsqueeze(1)
        elif self.fix == "squeeze":
            y = y[:, 0]
        elif self.fix == "one_hot":
            y = torch.nn.functional.one_hot(y.long(), self.classes).to(self.dtype or torch.float32)
        return y


def _target_spec(y: torch.Tensor, loss: Any, classification: bool, dtype: torch.dtype) -> tuple[_TargetSpec, int]:
    """Check raw targets and decide the conversion; returns the spec and the largest class label (-1 if none)."""
    if not classification:
        custom = loss is not None and not isinstance(loss, torch.nn.modules.loss._Loss)
        # a custom loss gets integer targets as they are (it may be a classification loss we cannot recognise)
        return _TargetSpec(False, dtype=None if custom and not y.is_floating_point() else dtype), -1
    spec = _TargetSpec(True)
    loss_name = type(loss).__name__ if loss is not None else "accuracy"
    labels = y
    if y.ndim == 2 and y.shape[1] == 1:
        spec.squeeze_col = True
        labels = y[:, 0]
    elif y.ndim == 2 and y.shape[1] > 1 and bool(((y == 0) | (y == 1)).all() & (y.sum(dim=1) == 1).all()):
        spec.one_hot = True  # rows like [0, 0, 1] (integer sequence labels (N, T) are not one-hot and stay)
        labels = y.argmax(dim=1)
    if labels.is_floating_point():
        frac = labels != labels.round()
        if bool(frac.any()):
            i = int(frac.reshape(-1).nonzero()[0])
            raise DataError(
                f"{loss_name} needs integer class labels 0..C-1, but y has the non-integer value "
                f"{float(labels.reshape(-1)[i])!r} at position {i}; encode classes as integers, or use "
                "loss_fn='mse' for a regression target"
            )
        labels = labels.long()
    ignore = getattr(loss, "ignore_index", -100)
    valid = labels[labels != ignore]
    if valid.numel() and bool((valid < 0).any()):
        raise DataError(f"{loss_name} needs class labels 0..C-1; y has the negative label {int(valid.min())}")
    return spec, int(valid.max()) if valid.numel() else -1


def _model_dtype(model: torch.nn.Module) -> torch.dtype:
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _in_features(model: torch.nn.Module) -> int | None:
    value = getattr(model, "in_features", None)
    if isinstance(value, int):
        return value
    for m in model.modules():  # e.g. the first nn.Linear of a Sequential
        value = getattr(m, "in_features", None)
        if isinstance(value, int):
            return value
    return None


def _uses_embedding(model: torch.nn.Module) -> bool:
    return any(isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) for m in model.modules())


def _one_hot_labels(y: torch.Tensor, classes: int, loss: Any) -> bool:
    """True when ``y`` (N,) holds integer class labels 0..classes-1 that an element-wise loss (MSE) can compare
    with ``classes`` outputs after one-hot encoding; integer labels out of that range raise."""
    if bool((y != y.round()).any()):
        return False  # a real-valued target: the shape error explains the mismatch
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= classes:
        raise DataError(
            f"{type(loss).__name__} with integer class labels one-hot encodes them to the model's {classes} outputs, "
            f"but y has the label {high if high >= classes else low} (labels must be 0..{classes - 1}); build the "
            f"model with output_dim={max(high + 1, classes)} or re-encode the labels"
        )
    return True
