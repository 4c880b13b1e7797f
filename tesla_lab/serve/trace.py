"""Trace a model into TorchScript and prove the trace right: its outputs must match the eager model's on the
example batch, on a single sample and on a larger batch (a trace that baked in the batch size fails here).

``TTLinear`` picks its contraction path per batch size in Python (``path='auto'``) and does shape arithmetic on
Python ints, which ``torch.jit.trace`` would freeze at the example's batch size. For the trace, each ``TTLinear`` is
swapped for an equivalent module over the *same* cores with one fixed path and batch-size-free reshapes, then
swapped back.

>>> import torch
>>> from tesla_lab.nn import TTLinear
>>> model = torch.nn.Sequential(TTLinear(16, 8, rank=2), torch.nn.ReLU())
>>> traced, out, layers = trace_model(model, torch.randn(4, 16))
>>> traced(torch.randn(9, 16)).shape, layers[0]["layer"], layers[0]["ranks"]
(torch.Size([9, 8]), '0', [1, 2, 1])
"""

from __future__ import annotations

import contextlib
import math
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tesla_lab.errors import CheckpointError, ConfigError, TeslaError
from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.tn.contract import choose_path, tt_matrix_full

__all__ = ["ExportError", "trace_model", "TT_PATHS"]

TT_PATHS = ("auto", "factorized", "dense")


class ExportError(CheckpointError):
    """A model cannot be exported (untraceable, traced outputs differ from the eager model) or an export directory
    cannot be read back (missing file, hash mismatch, unknown format)."""


class _TracedTTLinear(nn.Module):
    """``TTLinear``'s forward over the same cores, with one fixed path and shapes that follow any batch size.

    The factorized path mirrors :func:`~tesla_lab.tn.contract.tt_contract` but lets ``reshape(-1, ...)`` infer the
    batch-dependent size, so a trace at one batch size runs at every other; the dense path rebuilds ``W`` from the
    cores in the graph (the exported file keeps the compressed cores either way).
    """

    def __init__(self, layer: TTLinear, path: str) -> None:
        super().__init__()
        self.cores = layer.cores  # shared Parameters, not copies
        self.bias = layer.bias
        self.path = path
        self.in_features, self.out_features = layer.in_features, layer.out_features
        # Python ints fixed here, so the trace records no size arithmetic: (r_{k-1}, m_k, n_k, r_k, n_{k+1}..n_d)
        self._dims = [
            (int(c.shape[0]), int(c.shape[1]), int(c.shape[2]), int(c.shape[3]), math.prod(layer.in_shape[k + 1 :]))
            for k, c in enumerate(layer.cores)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x2 = x.reshape(-1, self.in_features)  # (B, N), B = all leading dims merged
        if self.path == "dense":
            y = F.linear(x2, tt_matrix_full(list(self.cores)), self.bias)
        else:
            state = x2
            for core, (r, m, n, s, rest) in zip(self.cores, self._dims):
                mat = core.permute(1, 3, 0, 2).reshape(m * s, r * n)  # (m_k r_k, r_{k-1} n_k)
                # (P, r_{k-1} n_k, R) -> (P, m_k r_k, R); P = B m_1..m_{k-1}, R = n_{k+1}..n_d
                state = torch.matmul(mat, state.reshape(-1, r * n, rest))
            y = state.reshape(-1, self.out_features)  # rows (B, m_1..m_d)
            if self.bias is not None:
                y = y + self.bias
        return y.reshape(x.shape[:-1] + (self.out_features,))


def _tt_path(layer: TTLinear, tt_path: str, batch: int) -> str:
    if tt_path != "auto":
        return tt_path
    if layer.path != "auto":  # the layer was pinned to a path by its owner
        return layer.path
    return choose_path(layer.out_shape, layer.in_shape, layer.ranks, batch)


def _tt_info(name: str, layer: TTLinear, path: str) -> dict[str, Any]:
    return {"layer": name, "path": path, "in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape),
            "ranks": list(layer.ranks)}


@contextlib.contextmanager
def _traceable(model: nn.Module, tt_path: str, batch: int) -> Iterator[tuple[nn.Module, list[dict[str, Any]]]]:
    """Swap every ``TTLinear`` in ``model`` for a :class:`_TracedTTLinear` (restored on exit); yields the module to
    trace and the path chosen for each TT layer."""
    if isinstance(model, TTLinear):
        path = _tt_path(model, tt_path, batch)
        yield _TracedTTLinear(model, path), [_tt_info("", model, path)]
        return
    swaps: list[tuple[nn.Module, str, TTLinear]] = []
    chosen: list[dict[str, Any]] = []
    try:
        for parent_name, parent in list(model.named_modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, TTLinear):
                    path = _tt_path(child, tt_path, batch)
                    swaps.append((parent, name, child))
                    chosen.append(_tt_info(f"{parent_name}.{name}".lstrip("."), child, path))
                    setattr(parent, name, _TracedTTLinear(child, path))
        yield model, chosen
    finally:
        for parent, name, child in swaps:
            setattr(parent, name, child)


_PROBE_LOCK = threading.Lock()


@contextlib.contextmanager
def _tolerant_export_probe() -> Iterator[None]:
    """While tracing, let torch's search for ``@torch.jit.export`` methods skip attributes that raise.

    ``torch.jit.trace`` calls ``hasattr`` on every attribute of every submodule; ``hasattr`` only absorbs
    AttributeError, so a property raising another error (``Model.compile_config`` of an uncompiled model raises
    NotFittedError) aborts the trace. The probe is swapped back on exit.
    """
    internal = torch._jit_internal
    original = getattr(internal, "module_has_exports", None)
    if original is None:  # a torch without this probe: nothing to work around
        yield
        return

    def module_has_exports(mod: Any) -> bool:
        for name in dir(mod):
            try:
                item = getattr(mod, name)
            except Exception:  # a property that cannot be read now is no exported method
                continue
            if callable(item) and internal.get_torchscript_modifier(item) is internal.FunctionModifiers.EXPORT:
                return True
        return False

    with _PROBE_LOCK:
        internal.module_has_exports = module_has_exports
        try:
            yield
        finally:
            internal.module_has_exports = original


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
    tesla_lab.serve.trace.ExportError: the traced model does not reproduce the eager model for a batch of 5 (shape \
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
        with _traceable(model, tt_path, batch=len(example)) as (target, tt_layers), warnings.catch_warnings():
            # TracerWarnings about Python values (shape checks) and trace's deprecation notice are expected; the
            # comparison below is the real test of the trace.
            warnings.simplefilter("ignore")
            try:
                with _tolerant_export_probe():
                    traced = torch.jit.trace(target, example, check_trace=False)
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
