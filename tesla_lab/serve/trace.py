"""Trace a model into TorchScript and prove the trace right: its outputs must match the eager model's on the
example batch, on a single sample and on a larger batch (a trace that baked in the batch size fails here).

``TTLinear`` is traceable as it is (it reshapes by the input's batch size and runs one fixed path under
``torch.jit.trace``); here each TT layer's path is pinned for the trace (to ``tt_path``, or the layer's own choice
for the example's batch size), so the export metadata records what was traced.

>>> import torch
>>> from tesla_lab.nn import TTLinear
>>> model = torch.nn.Sequential(TTLinear(16, 8, rank=2), torch.nn.ReLU())
>>> traced, out, layers = trace_model(model, torch.randn(4, 16))
>>> traced(torch.randn(9, 16)).shape, layers[0]["layer"], layers[0]["ranks"]
(torch.Size([9, 8]), '0', [1, 2, 1])
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from tesla_lab.errors import ConfigError, ExportError, TeslaError
from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.tn.contract import choose_path

__all__ = ["ExportError", "trace_model", "TT_PATHS"]

TT_PATHS = ("auto", "factorized", "dense")


def _tt_path(layer: TTLinear, tt_path: str, batch: int) -> str:
    if tt_path != "auto":
        return tt_path
    if layer.path != "auto":  # the layer was pinned to a path by its owner
        return layer.path
    return choose_path(layer.out_shape, layer.in_shape, layer.ranks, batch)


@contextlib.contextmanager
def _pinned_tt_paths(model: nn.Module, tt_path: str, batch: int) -> Iterator[list[dict[str, Any]]]:
    """Set every ``TTLinear``'s ``path`` to the one to trace (restored on exit); yields, per layer, its name, that
    path and its shapes and ranks."""
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, TTLinear)]
    saved = [layer.path for _, layer in layers]
    chosen: list[dict[str, Any]] = []
    try:
        for name, layer in layers:
            layer.path = _tt_path(layer, tt_path, batch)
            chosen.append({"layer": name, "path": layer.path, "in_shape": list(layer.in_shape),
                           "out_shape": list(layer.out_shape), "ranks": list(layer.ranks)})
        yield chosen
    finally:
        for (_, layer), path in zip(layers, saved):
            layer.path = path


def _run(module: Any, x: torch.Tensor) -> torch.Tensor:
    out = module(x)
    if not isinstance(out, torch.Tensor):
        raise ExportError(f"the model must return one tensor to be exported; it returned {type(out).__name__}. "
                          "Wrap it in a module whose forward returns the prediction tensor")
    return out


def _batches(x: torch.Tensor) -> list[torch.Tensor]:
    """The example, its first sample alone, and a larger batch: a trace must not depend on the batch size."""
    return [x, x[:1], torch.cat([x, x[:1], x], dim=0)]


def trace_model(
    model: nn.Module,
    example: torch.Tensor,
    *,
    tt_path: str = "auto",
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> tuple[torch.jit.ScriptModule, torch.Tensor, list[dict[str, Any]]]:
    """``torch.jit.trace`` ``model`` (in eval mode, restored after) on ``example`` (N, ...) and check the result.

    Returns the traced module, the eager outputs on ``example`` and, per ``TTLinear``, the path traced into it
    (``tt_path``: ``'auto'`` = the layer's own choice for the example's batch size, ``'factorized'`` or ``'dense'``).
    Raises :class:`ExportError` when tracing fails or the traced outputs differ from the eager ones beyond
    ``rtol``/``atol``.

    >>> class Branchy(torch.nn.Module):
    ...     def forward(self, x):
    ...         return x * 2 if len(x) < 5 else x   # Python branch on the batch size: a trace cannot keep it
    >>> trace_model(Branchy(), torch.ones(2, 3))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ExportError: the traced model does not reproduce the eager model for a batch of 5 (shape \
(5, 3) vs (5, 3), max abs difference 1, rtol=0.0001, atol=1e-05); the model likely branches on input values or on \
the batch size in Python
    """
    if tt_path not in TT_PATHS:
        raise ConfigError(f"tt_path must be one of: {', '.join(TT_PATHS)}; got {tt_path!r}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            expected = [_run(model, b) for b in _batches(example)]
        with _pinned_tt_paths(model, tt_path, batch=len(example)) as tt_layers, warnings.catch_warnings():
            # TracerWarnings about Python values (shape checks) and trace's deprecation notice are expected; the
            # comparison below is the real test of the trace.
            warnings.simplefilter("ignore")
            try:
                traced = torch.jit.trace(model, example, check_trace=False)
            except TeslaError:
                raise
            except Exception as exc:
                first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ExportError(f"torch.jit.trace failed on this model: {first}; an exported model must compute "
                                  "with tensor operations only (no data-dependent Python control flow)") from exc
    finally:
        model.train(was_training)
    with torch.no_grad():
        for b, want in zip(_batches(example), expected):
            got = traced(b)
            if got.shape != want.shape or not torch.allclose(got, want, rtol=rtol, atol=atol):
                diff = (got - want).abs().max().item() if got.shape == want.shape else float("nan")
                raise ExportError(
                    f"the traced model does not reproduce the eager model for a batch of {len(b)} (shape "
                    f"{tuple(got.shape)} vs {tuple(want.shape)}, max abs difference {diff:.3g}, rtol={rtol}, "
                    f"atol={atol}); the model likely branches on input values or on the batch size in Python"
                )
    return traced, expected[0], tt_layers
