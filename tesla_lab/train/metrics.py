"""Streaming metrics that accumulate on the training device and synchronise once per epoch.

A :class:`StreamingMetric` keeps a running sum as a device tensor and a sample count as a Python int, so
``update`` launches a couple of kernels and never waits for the GPU; :func:`sync` turns a list of results into
floats with ONE device-to-host copy.

Built-in names: ``accuracy`` (``acc``), ``top5_accuracy`` (any ``top{k}_accuracy``), ``mae``, ``mse``, ``rmse``.
A callable ``fn(y_true, y_pred) -> tensor | float`` is averaged over batches, weighted by batch size.

>>> import torch
>>> acc = get_metric("accuracy")
>>> acc.reset(torch.device("cpu"))
>>> acc.update(torch.tensor([0, 1, 1]), torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
>>> round(float(acc.compute()), 4)
0.6667
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union

import torch

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError, ShapeError

__all__ = ["StreamingMetric", "METRICS", "get_metric", "build_metrics", "sync", "accumulator_dtype"]

MetricFn = Callable[[torch.Tensor, torch.Tensor], Any]
MetricLike = Union[str, MetricFn, "StreamingMetric"]


def accumulator_dtype(device: torch.device) -> torch.dtype:
    """float64 for running sums where the device has it (sums over many batches lose digits in fp32).

    >>> accumulator_dtype(torch.device("cpu"))
    torch.float64
    """
    return torch.float32 if device.type == "mps" else torch.float64


class StreamingMetric:
    """Mean of a per-batch quantity, accumulated on device.

    Subclasses implement :meth:`batch` returning ``(sum over the batch, number of items)``; the sum is a device
    tensor, the count a Python int (known from shapes, so no synchronisation).

    >>> m = StreamingMetric("twice", lambda t, p: ((2 * p).sum(), p.numel()))
    >>> m.reset(torch.device("cpu")); m.update(torch.zeros(2), torch.ones(2)); float(m.compute())
    2.0
    """

    def __init__(self, name: str, batch_fn: Callable[[torch.Tensor, torch.Tensor], tuple[Any, int]] | None = None):
        self.name = name
        self._batch_fn = batch_fn
        self._sum: torch.Tensor | None = None
        self._count = 0

    def batch(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[Any, int]:
        """Return ``(sum over the batch, item count)`` for one batch."""
        if self._batch_fn is None:
            raise NotImplementedError(f"{type(self).__name__} must implement batch() or be given a batch_fn")
        return self._batch_fn(y_true, y_pred)

    def reset(self, device: torch.device) -> None:
        """Start a new epoch: zero the running sum on ``device``."""
        self._sum = torch.zeros((), dtype=accumulator_dtype(device), device=device)
        self._count = 0

    def update(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
        """Add one batch (``y_pred`` is the model output, detached; ``y_true`` the prepared targets)."""
        total, count = self.batch(y_true, y_pred)
        if self._sum is None:
            self.reset(y_pred.device)
        self._sum.add_(total)  # type: ignore[union-attr]
        self._count += count

    def compute(self) -> torch.Tensor:
        """The epoch's value as a 0-dim device tensor (NaN when no batch was seen); no synchronisation."""
        if self._sum is None or self._count == 0:
            return torch.tensor(float("nan"))
        return self._sum / self._count

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class _RootMean(StreamingMetric):
    def compute(self) -> torch.Tensor:
        return super().compute().sqrt()


def _flat_pair(name: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if y_true.numel() != y_pred.numel():
        raise ShapeError(
            f"metric {name!r} compares outputs with targets element-wise, but the model outputs shape "
            f"{tuple(y_pred.shape)} and y has shape {tuple(y_true.shape)}; use 'accuracy' for class labels or give "
            "the model one output per target value"
        )
    return y_true.reshape(-1).float(), y_pred.reshape(-1).float()


def _accuracy(threshold: float) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, int]]:
    def batch(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, int]:
        if y_pred.ndim >= 2 and y_pred.shape[-1] > 1:  # (N, C) scores/logits, or (N, T, C)
            labels = y_pred.argmax(dim=-1)
            if y_true.shape == y_pred.shape:  # one-hot (N, C) targets
                y_true = y_true.argmax(dim=-1)
            correct = labels == y_true.reshape(labels.shape).long()
        else:  # binary: one score per sample; threshold 0 for logits (BCE-with-logits), 0.5 for probabilities
            labels = y_pred.reshape(-1) > threshold
            correct = labels == (y_true.reshape(-1) > 0.5)
        return correct.sum(), correct.numel()

    return batch


def _top_k(k: int) -> Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, int]]:
    def batch(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, int]:
        if y_pred.ndim < 2 or y_pred.shape[-1] < 2:
            raise ShapeError(
                f"metric 'top{k}_accuracy' needs class scores of shape (N, C) with C >= 2; the model outputs "
                f"{tuple(y_pred.shape)}"
            )
        top = y_pred.topk(min(k, y_pred.shape[-1]), dim=-1).indices  # (N, k)
        hit = (top == y_true.reshape(-1, 1).long()).any(dim=-1)  # (N,)
        return hit.sum(), hit.numel()

    return batch


def _mae(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, int]:
    t, p = _flat_pair("mae", y_true, y_pred)
    return (p - t).abs().sum(), t.numel()


def _mse(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, int]:
    t, p = _flat_pair("mse", y_true, y_pred)
    return (p - t).square().sum(), t.numel()


def _rmse(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, int]:
    t, p = _flat_pair("rmse", y_true, y_pred)
    return (p - t).square().sum(), t.numel()


METRICS: Registry[StreamingMetric] = Registry("metric")
METRICS.register("accuracy", lambda threshold=0.5: StreamingMetric("accuracy", _accuracy(threshold)), "acc")
METRICS.register("mae", lambda threshold=0.5: StreamingMetric("mae", _mae), "mean_absolute_error")
METRICS.register("mse", lambda threshold=0.5: StreamingMetric("mse", _mse), "mean_squared_error")
METRICS.register("rmse", lambda threshold=0.5: _RootMean("rmse", _rmse), "root_mean_squared_error")
METRICS.register("top5_accuracy", lambda threshold=0.5: StreamingMetric("top5_accuracy", _top_k(5)), "top5")

_TOP_K = re.compile(r"^top_?(\d+)(_accuracy)?$")


def _callable_metric(fn: MetricFn, name: str) -> StreamingMetric:
    def batch(y_true: torch.Tensor, y_pred: torch.Tensor) -> tuple[torch.Tensor, int]:
        value = fn(y_true, y_pred)  # a batch mean; weight it by the batch size
        n = int(y_true.shape[0]) if y_true.ndim else 1
        if isinstance(value, torch.Tensor):
            return value.detach().float().mean() * n, n
        return torch.as_tensor(float(value), device=y_pred.device) * n, n  # a Python number: synced by the user

    return StreamingMetric(name, batch)


def get_metric(metric: MetricLike, *, binary_threshold: float = 0.5) -> StreamingMetric:
    """Build one streaming metric from a name, a callable ``fn(y_true, y_pred)`` or a :class:`StreamingMetric`.

    ``binary_threshold`` is where ``accuracy`` splits single-output predictions: 0.5 for probabilities, 0.0 for
    logits (the trainer passes 0.0 with a BCE-with-logits loss).

    >>> get_metric("top3_accuracy").name
    'top3_accuracy'
    >>> get_metric("acuracy")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown metric 'acuracy' (did you mean 'accuracy'?); choose one of: acc, \
accuracy, mae, mean_absolute_error, mean_squared_error, mse, rmse, root_mean_squared_error, top5, top5_accuracy \
(or top{k}_accuracy, or a callable fn(y_true, y_pred))
    """
    if isinstance(metric, StreamingMetric):
        return metric
    if callable(metric):
        name = getattr(metric, "__name__", type(metric).__name__)
        return _callable_metric(metric, "metric" if name == "<lambda>" else name)
    if not isinstance(metric, str):
        raise ConfigError(
            f"a metric must be a name, a callable fn(y_true, y_pred) or a StreamingMetric; got "
            f"{type(metric).__name__} {metric!r}"
        )
    match = _TOP_K.match(metric.strip().lower())
    if match and metric.strip().lower() not in METRICS:
        k = int(match.group(1))
        if k < 1:
            raise ConfigError(f"top-k accuracy needs k >= 1; got {metric!r}. Use e.g. 'top5_accuracy'")
        return StreamingMetric(f"top{k}_accuracy", _top_k(k))
    if metric not in METRICS:
        try:
            METRICS.get(metric)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (or top{{k}}_accuracy, or a callable fn(y_true, y_pred))") from None
    m = METRICS.get(metric)(binary_threshold)
    return m


def build_metrics(
    metrics: Iterable[MetricLike] | MetricLike, *, binary_threshold: float = 0.5
) -> list[StreamingMetric]:
    """Build a list of metrics, renaming callables that share a name (``metric``, ``metric_1``, ...).

    >>> [m.name for m in build_metrics(["accuracy", lambda t, p: (t - p).abs().mean()])]
    ['accuracy', 'metric']
    """
    if isinstance(metrics, (str, StreamingMetric)) or callable(metrics):
        metrics = [metrics]  # type: ignore[list-item]
    out: list[StreamingMetric] = []
    seen: set[str] = set()
    for item in metrics:  # type: ignore[union-attr]
        m = get_metric(item, binary_threshold=binary_threshold)
        if m.name in seen:
            if isinstance(item, str):
                raise ConfigError(f"metric {m.name!r} is listed twice; list each metric once")
            i = 1
            while f"{m.name}_{i}" in seen:
                i += 1
            m.name = f"{m.name}_{i}"
        seen.add(m.name)
        out.append(m)
    return out


def sync(values: Sequence[torch.Tensor]) -> list[float]:
    """Copy a list of 0-dim device tensors to Python floats with ONE device-to-host transfer.

    >>> sync([torch.tensor(1.5), torch.tensor(2, dtype=torch.float64)])
    [1.5, 2.0]
    """
    if not values:
        return []
    device = values[0].device
    dtype = accumulator_dtype(device)
    return torch.stack([v.to(device=device, dtype=dtype).reshape(()) for v in values]).tolist()
