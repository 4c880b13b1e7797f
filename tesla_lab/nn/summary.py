"""Model summaries: per-layer output shape, stored parameters, tensor-train / sparse compression and the options
(flags) a layer was built with.

>>> import torch
>>> s = summarize(torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU()), input_shape=(4,))
>>> s.total_params, s.rows[0].output_shape
(15, (3,))
>>> s = summarize(torch.nn.Sequential(torch.nn.Linear(4, 3)), flags={"0": ["checkpoint_gradients"]})
>>> s.rows[0].flags, "checkpoint_gradients" in str(s)
(('checkpoint_gradients',), True)

A tensor-train layer shows as ``TT`` with its ranks and its compression as ``7.2x``:

>>> from tesla_lab.nn import Dense
>>> row = summarize(torch.nn.Sequential(Dense(64, input_dim=64, tt_rank=4))).rows[0]
>>> row.kind, row.ranks, row.compression_text
('TT', (1, 4, 1), '7.2x')
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

__all__ = ["LayerSummary", "ModelSummary", "summarize", "count_params"]


def count_params(module: nn.Module) -> tuple[int, int]:
    """Return ``(stored, dense_equivalent)`` parameter counts of ``module``.

    Stored counts what the layer really keeps (TT cores; only non-zeros of a pruned layer); dense-equivalent counts
    what the same layer would hold as plain dense weights. Lazy, not yet built parameters count as 0.

    >>> count_params(torch.nn.Linear(10, 10))
    (110, 110)
    """
    if hasattr(module, "num_params") and hasattr(module, "dense_params"):  # TTLinear
        return int(module.num_params), int(module.dense_params)
    if hasattr(module, "num_params") and hasattr(module, "nnz"):  # SparseLinear: non-zeros only
        dense = sum(p.numel() for p in module.parameters() if not isinstance(p, UninitializedParameter))
        return int(module.num_params), int(dense)
    stored = dense = 0
    for p in module.parameters(recurse=False):
        if not isinstance(p, UninitializedParameter):
            stored += p.numel()
            dense += p.numel()
    for child in module.children():
        s, d = count_params(child)
        stored += s
        dense += d
    return stored, dense


@dataclasses.dataclass(frozen=True)
class LayerSummary:
    """One row of a :class:`ModelSummary`."""

    name: str
    kind: str
    output_shape: tuple[int, ...] | None
    params: int
    dense_params: int
    flags: tuple[str, ...] = ()  # options the layer was built with, e.g. ('checkpoint_gradients', 'model_parallel')
    ranks: tuple[int, ...] | None = None  # the TT ranks of a tensor-train layer, e.g. (1, 4, 1); None otherwise

    @property
    def compression(self) -> float:
        return self.dense_params / self.params if self.params else 1.0

    @property
    def compression_text(self) -> str:
        """The compression as people read it: ``'12.3x'``."""
        return f"{self.compression:.1f}x"

    @property
    def ranks_text(self) -> str:
        """The TT ranks as ``'1-4-1'`` (``''`` for a layer that is not a tensor train)."""
        return "-".join(map(str, self.ranks)) if self.ranks else ""


@dataclasses.dataclass(frozen=True, repr=False)
class ModelSummary:
    """Per-layer table plus totals; ``str(summary)`` is a readable table."""

    rows: tuple[LayerSummary, ...]
    input_shape: tuple[int, ...] | None
    notes: tuple[str, ...] = ()  # lines shown under the table (e.g. whether parallel flags are active)

    @property
    def total_params(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def dense_params(self) -> int:
        return sum(r.dense_params for r in self.rows)

    @property
    def compression_ratio(self) -> float:
        return self.dense_params / self.total_params if self.total_params else 1.0

    @property
    def memory_bytes(self) -> int:
        """Parameter memory at float32."""
        return 4 * self.total_params

    def to_dict(self) -> dict[str, object]:
        return {
            "layers": [dataclasses.asdict(r) | {"compression": r.compression, "compression_text": r.compression_text}
                       for r in self.rows],
            "input_shape": self.input_shape, "total_params": self.total_params, "dense_params": self.dense_params,
            "compression_ratio": self.compression_ratio, "memory_bytes": self.memory_bytes,
            "notes": list(self.notes),
        }

    def __repr__(self) -> str:  # model.summary() at a prompt or in a notebook shows the table
        return str(self)

    def __str__(self) -> str:
        head: tuple[str, ...] = ("Layer", "Type", "Output shape", "Params", "Dense-equiv.", "Compression")
        body = [
            (r.name, r.kind, "?" if r.output_shape is None else str(("N", *r.output_shape)).replace("'", ""),
             f"{r.params:,}", f"{r.dense_params:,}", r.compression_text)
            for r in self.rows
        ]
        if any(r.ranks for r in self.rows):  # a TT ranks column only when the model has a tensor-train layer
            head = (*head[:2], "TT ranks", *head[2:])
            body = [(*row[:2], r.ranks_text, *row[2:]) for row, r in zip(body, self.rows)]
        with_flags = any(r.flags for r in self.rows)
        if with_flags:  # a last, left-aligned column only when some layer has options
            head = (*head, "Flags")
            body = [(*row, ", ".join(r.flags)) for row, r in zip(body, self.rows)]
        widths = [max(len(str(row[i])) for row in [head, *body]) for i in range(len(head))]
        left = {"Layer", "Type", "TT ranks", "Output shape", "Flags"}
        fmt = "  ".join(f"{{:<{w}}}" if head[i] in left else f"{{:>{w}}}" for i, w in enumerate(widths))
        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        lines = [fmt.format(*head).rstrip(), rule, *(fmt.format(*row).rstrip() for row in body), rule]
        lines.append(f"Total params: {self.total_params:,} (dense equivalent {self.dense_params:,}, "
                     f"compression {self.compression_ratio:.1f}x, {self.memory_bytes / 2**20:.2f} MiB at fp32)")
        if any(r.output_shape is None for r in self.rows):
            lines.append("Output shapes unknown: pass input_shape (or Flatten(input_shape=...)) to see them.")
        lines.extend(self.notes)
        return "\n".join(lines)


def summarize(
    model: nn.Module,
    input_shape: Sequence[int] | None = None,
    layers: Sequence[tuple[str, nn.Module]] | None = None,
    flags: Mapping[str, Sequence[str]] | None = None,
    notes: Sequence[str] = (),
) -> ModelSummary:
    """Summarize ``layers`` (default: the top-level children of ``model``); with ``input_shape`` (one sample, no
    batch dimension) a dry run of ``model`` on zeros records each layer's output shape (and builds lazy layers).
    ``flags`` maps a layer name to the options it was built with (shown in a ``Flags`` column); ``notes`` are
    lines shown under the table."""
    children = list(layers) if layers is not None else list(model.named_children())
    children = children or [(type(model).__name__, model)]
    shapes: dict[str, tuple[int, ...]] = {}
    if input_shape is not None:
        hooks = [
            child.register_forward_hook(
                lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:]))
                if isinstance(out, torch.Tensor) else None
            )
            for name, child in children
        ]
        param = next((p for p in model.parameters() if not isinstance(p, UninitializedParameter)), None)
        device = param.device if param is not None else torch.device("cpu")
        was_training = model.training
        try:
            model.eval()
            with torch.no_grad():
                model(torch.zeros(2, *input_shape, device=device))
        finally:
            model.train(was_training)
            for h in hooks:
                h.remove()
    rows = []
    for name, child in children:
        stored, dense = count_params(child)
        rows.append(LayerSummary(name, _kind(child), shapes.get(name), stored, dense,
                                 tuple((flags or {}).get(name, ())), _ranks(child)))
    return ModelSummary(tuple(rows), tuple(input_shape) if input_shape is not None else None, tuple(notes))


def _is_tt(module: nn.Module) -> bool:
    return hasattr(module, "ranks") and hasattr(module, "dense_params")  # TTLinear (and TT layers like it)


def _ranks(module: nn.Module) -> tuple[int, ...] | None:
    """The TT ranks of the (first) tensor-train weight inside ``module``, or None."""
    found = next((m for m in module.modules() if _is_tt(m)), None)
    return None if found is None else tuple(int(r) for r in found.ranks)


def _kind(module: nn.Module) -> str:
    """``TT+LeakyReLU`` for a plain block, ``Checkpointed(TT+LeakyReLU)`` for a wrapper; a layer whose weight is a
    tensor train (a ``Dense(tt_rank=...)``, a ``TTLinear``) is ``TT``."""
    if type(module) is nn.Sequential:
        return "+".join(_kind(m) for m in module)
    inner = getattr(module, "module", None)
    if isinstance(inner, nn.Module):
        return f"{type(module).__name__}({_kind(inner)})"
    if _is_tt(module) or any(_is_tt(m) for m in module.children()):
        return "TT"
    return type(module).__name__
