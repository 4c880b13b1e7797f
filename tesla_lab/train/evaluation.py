"""Evaluation and prediction of :class:`~tesla_lab.train.Trainer`: ``evaluate`` and ``predict`` (and the summed
validation loss ``fit`` uses), synchronised with the host once.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from tesla_lab.errors import ConfigError
from tesla_lab.loss import get_loss
from tesla_lab.nn.logits import binary_threshold
from tesla_lab.train.batches import _Data
from tesla_lab.train.inputs import check_inference_input
from tesla_lab.train.metrics import StreamingMetric, accumulator_dtype, build_metrics, sync
from tesla_lab.train.options import _check_int


class _Evaluation:
    """Mixin of :class:`~tesla_lab.train.Trainer`: ``evaluate``, ``predict`` and the evaluation sums."""

    def _evaluate_sums(self, model: torch.nn.Module, data: _Data, loss_fn: Any, metrics: Sequence[StreamingMetric],
                       amp: torch.autocast | None, batch_size: int, device: torch.device,
                       shard: bool = False) -> tuple[torch.Tensor, int]:
        """Summed loss and sample count over ``data`` (metrics accumulate in place); no host sync. ``shard``: this
        rank's slice of each batch only (every rank still runs the same number of forwards, as FSDP needs)."""
        was_training = model.training
        model.eval()
        total = torch.zeros((), dtype=accumulator_dtype(device), device=device)
        seen = 0
        for m in metrics:
            m.reset(device)
        batches: Iterator[tuple[torch.Tensor, torch.Tensor | None, int, float]]
        if shard and data.X is not None:
            batches = data.shard_batches(batch_size, self._strategy.rank, self._strategy.world_size)
        else:
            batches = ((xb, yb, xb.shape[0], 1.0) for xb, yb in data.batches(batch_size))
        try:
            with torch.no_grad():
                for xb, yb, n, _ in batches:
                    with amp if amp is not None else contextlib.nullcontext():
                        out = model(xb)
                        if n and loss_fn is not None:
                            total.add_(loss_fn(out, yb).detach(), alpha=n)
                    if n:
                        seen += n
                        for m in metrics:
                            m.update(yb, out)
        finally:
            model.train(was_training)
        return total, seen

    def _evaluate_data(self, model: torch.nn.Module, data: _Data, loss_fn: Any, metrics: Sequence[StreamingMetric],
                       amp: torch.autocast | None, batch_size: int, device: torch.device) -> list[torch.Tensor]:
        """Loss (if any) and metrics over ``data`` as device tensors; the caller syncs once."""
        total, seen = self._evaluate_sums(model, data, loss_fn, metrics, amp, batch_size, device)
        values = [m.compute() for m in metrics]
        if loss_fn is not None:
            values.insert(0, total / seen if seen else torch.tensor(math.nan))
        return values

    def evaluate(self, model: torch.nn.Module, X: Any, y: Any = None, *,
                 loss_fn: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 batch_size: int = 256, metrics: Sequence[Any] = ()) -> dict[str, float]:
        """Loss and metrics of ``model`` on ``X``/``y`` (or a DataLoader), synchronised once.

        ``loss_fn=None`` uses the loss of the last ``fit``; when there is none only ``metrics`` are reported.

        >>> import torch
        >>> from tesla_lab.train import Trainer
        >>> model = torch.nn.Linear(2, 2)
        >>> r = Trainer(device="cpu").evaluate(model, torch.randn(10, 2), torch.zeros(10, dtype=torch.long),
        ...                                    loss_fn="cross_entropy", metrics=["accuracy"])
        >>> sorted(r)
        ['accuracy', 'loss']
        """
        batch_size = _check_int("batch_size", batch_size, 1)
        model, device, precision = self._setup_model(model)
        loss = get_loss(loss_fn) if loss_fn is not None else self.loss_fn
        threshold = binary_threshold(model, loss)
        check_inference_input(model, X)
        ms = build_metrics(metrics, binary_threshold=threshold)
        if loss is None and not ms:
            raise ConfigError("nothing to evaluate: pass loss_fn= (e.g. 'mse') and/or metrics= (e.g. ['accuracy'])")
        amp = precision.autocast()
        data = self._prepare(model, X, y, loss, device, batch_size=batch_size)
        self._probe_first(model, data, loss, ms, amp, batch_size)
        values = sync(self._evaluate_data(model, data, loss, ms, amp, batch_size, device))
        names = (["loss"] if loss is not None else []) + [m.name for m in ms]
        return dict(zip(names, values))

    def predict(self, model: torch.nn.Module, X: Any, *, batch_size: int = 256) -> torch.Tensor:
        """Model outputs for ``X`` (array, tensor or DataLoader) as one CPU tensor (float32 when autocast ran
        in reduced precision), copied to the host once at the end.

        >>> import torch
        >>> from tesla_lab.train import Trainer
        >>> Trainer(device="cpu").predict(torch.nn.Linear(3, 2), [[1.0, 2.0, 3.0]]).shape
        torch.Size([1, 2])
        """
        batch_size = _check_int("batch_size", batch_size, 1)
        model, device, precision = self._setup_model(model)
        amp = precision.autocast()
        check_inference_input(model, X)
        data = self._prepare(model, X, None, None, device, need_y=False, batch_size=batch_size)
        self._probe_first(model, data, None, (), amp, batch_size)
        outs = []
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for xb, _ in data.batches(batch_size):
                    with amp if amp is not None else contextlib.nullcontext():
                        out = model(xb)
                    outs.append(out.float() if out.is_floating_point() and out.dtype in (torch.float16,
                                                                                          torch.bfloat16) else out)
        finally:
            model.train(was_training)
        return torch.cat(outs).cpu()
