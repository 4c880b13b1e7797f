"""Magnitude pruning: :func:`prune` turns the ``nn.Linear`` layers of a model into :class:`SparseLinear` layers.

It returns the pruned model and a :class:`PruneReport` of the parameters before and after.

>>> import torch
>>> _ = torch.manual_seed(0)
>>> model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 16))
>>> pruned, report = prune(model, 0.9)
>>> type(pruned[0]).__name__, round(pruned[0].sparsity, 3)
('SparseLinear', 0.9)
>>> report.total_before, report.total_after
(3152, 387)
"""

from __future__ import annotations

import copy
import logging
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from tesla_lab.errors import ConfigError
from tesla_lab.nn.sparse_linear import SparseLinear, _smallest, _zeros_for, check_sparsity

__all__ = ["prune", "PruneReport", "LayerPruneStats"]

logger = logging.getLogger(__name__)

_SCOPES = ("layer", "global")


@dataclass
class LayerPruneStats:
    """Parameter counts of one pruned layer (non-zeros only, bias included) and its saved bytes before and after
    (what ``torch.save`` of its ``state_dict`` holds; :meth:`SparseLinear.memory_bytes`).

    >>> LayerPruneStats("fc", 8, 4, 36, 8, 0.875).compression
    4.5
    """

    name: str
    in_features: int
    out_features: int
    params_before: int
    params_after: int
    sparsity: float
    bytes_before: int = 0
    bytes_after: int = 0

    @property
    def compression(self) -> float:
        """``params_before / params_after``."""
        return self.params_before / max(self.params_after, 1)


@dataclass
class PruneReport:
    """What :func:`prune` changed: per-layer rows plus whole-model non-zero parameter totals.

    >>> import torch
    >>> _, report = prune(torch.nn.Sequential(torch.nn.Linear(16, 16)), 0.5)
    >>> print(report)  # doctest: +NORMALIZE_WHITESPACE
    layer  shape    params before  params after  sparsity
    0      16x16              272           144     0.500
    total                     272           144  (1.89x fewer)
    saved bytes of the pruned layers: 1,088 -> 608 (0.56x)
    """

    sparsity: float
    scope: str
    layers: list[LayerPruneStats] = field(default_factory=list)
    total_before: int = 0
    total_after: int = 0
    skipped: list[str] = field(default_factory=list)

    @property
    def compression(self) -> float:
        """Whole-model ``total_before / total_after``."""
        return self.total_before / max(self.total_after, 1)

    @property
    def bytes_before(self) -> int:
        """Saved (``state_dict``) bytes of the pruned layers before pruning."""
        return sum(r.bytes_before for r in self.layers)

    @property
    def bytes_after(self) -> int:
        """Saved bytes of the pruned layers after: only kept weights and a bitmask from 50 % sparsity."""
        return sum(r.bytes_after for r in self.layers)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the store / UI (``compression`` included)."""
        rows = [{**vars(row), "compression": row.compression} for row in self.layers]
        return {
            "sparsity": self.sparsity,
            "scope": self.scope,
            "layers": rows,
            "total_before": self.total_before,
            "total_after": self.total_after,
            "compression": self.compression,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
            "skipped": list(self.skipped),
        }

    def __str__(self) -> str:
        header = ("layer", "shape", "params before", "params after", "sparsity")
        rows = [
            (r.name, f"{r.in_features}x{r.out_features}", f"{r.params_before:,}", f"{r.params_after:,}",
             f"{r.sparsity:.3f}")
            for r in self.layers
        ]
        total = ("total", "", f"{self.total_before:,}", f"{self.total_after:,}", f"({self.compression:.2f}x fewer)")
        widths = [max(len(row[i]) for row in (header, *rows, total)) for i in range(len(header))]

        def line(row: tuple[str, ...]) -> str:
            cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
            cells += [row[i].rjust(widths[i]) for i in range(2, len(row))]
            return "  ".join(cells).rstrip()

        out = [line(header), *(line(r) for r in rows), line(total)]
        if self.layers:
            out.append(f"saved bytes of the pruned layers: {self.bytes_before:,} -> {self.bytes_after:,} "
                       f"({self.bytes_after / max(self.bytes_before, 1):.2f}x)")
        if self.skipped:
            out.append(f"kept dense: {', '.join(self.skipped)}")
        return "\n".join(out)


def _count_nonzero_params(model: nn.Module) -> int:
    """All parameters, counting only the kept weights of SparseLinear layers (shared parameters once)."""
    seen: set[int] = set()
    total = 0
    for module in model.modules():
        if isinstance(module, SparseLinear) and id(module.weight) not in seen:
            seen.add(id(module.weight))
            total += module.nnz
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def _layer_bytes(layer: nn.Module) -> int:
    if isinstance(layer, SparseLinear):
        return layer.memory_bytes()
    return sum(t.numel() * t.element_size() for t in layer.state_dict().values())


def _layer_params(layer: nn.Module) -> int:
    if isinstance(layer, SparseLinear):
        return layer.num_params
    return sum(p.numel() for p in layer.parameters(recurse=False))


def prune(
    model: nn.Module,
    sparsity: float,
    *,
    scope: str = "layer",
    min_features: int = 8,
    inplace: bool = False,
) -> tuple[nn.Module, PruneReport]:
    """Replace the ``nn.Linear`` layers of ``model`` by magnitude-pruned :class:`SparseLinear` layers.

    ``scope='layer'`` prunes each layer to ``sparsity``; ``scope='global'`` ranks all eligible weights together (one
    magnitude threshold), so layers with many small weights lose more. Eligible: exact ``nn.Linear`` (subclasses
    such as ``MultiheadAttention.out_proj`` read ``.weight`` directly and are skipped) and existing
    :class:`SparseLinear` layers (pruned further, never un-pruned), with both widths ``>= min_features`` (tiny
    heads such as a 1-output regressor stay dense). ``inplace=False`` works on a deep copy.

    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.Linear(64, 2))
    >>> pruned, report = prune(model, 0.8, scope="global")
    >>> [type(m).__name__ for m in pruned], report.skipped
    (['SparseLinear', 'Linear'], ['1'])
    """
    sparsity = check_sparsity(sparsity)
    scope_key = str(scope).lower()
    if scope_key not in _SCOPES:
        raise ConfigError(f"unknown pruning scope {scope!r}; choose one of: {', '.join(_SCOPES)}")
    if isinstance(min_features, bool) or not isinstance(min_features, numbers.Integral) or min_features < 1:
        raise ConfigError(f"min_features must be a positive int (layers narrower than it stay dense); got "
                          f"{min_features!r}")
    if not inplace:
        model = copy.deepcopy(model)
    report = PruneReport(sparsity=sparsity, scope=scope_key, total_before=_count_nonzero_params(model))

    # Every place a layer sits (one module can sit in several, e.g. tied layers): id → (layer, [(parent, attr)]).
    places: dict[int, tuple[str, nn.Module, list[tuple[nn.Module | None, str]]]] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        if type(module) is not nn.Linear and not isinstance(module, SparseLinear):
            continue
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if name else None
        entry = places.setdefault(id(module), (name or type(module).__name__, module, []))
        entry[2].append((parent, attr))

    # (id of the original, name, new layer, (params, saved bytes) before)
    converted: list[tuple[int, str, SparseLinear, tuple[int, int]]] = []
    for key, (name, module, _) in places.items():
        if min(module.in_features, module.out_features) < min_features:
            report.skipped.append(name)
            continue
        before = (_layer_params(module), _layer_bytes(module))
        layer = module if isinstance(module, SparseLinear) else SparseLinear.from_linear(module, 0.0)
        converted.append((key, name, layer, before))

    layers = [layer for _, _, layer, _ in converted]
    if scope_key == "layer":
        for layer in layers:
            layer.prune(sparsity)
    elif layers:
        _prune_global(layers, sparsity)

    for key, _, layer, _ in converted:
        for parent, attr in places[key][2]:
            if parent is None:
                model = layer  # the model itself is a single linear layer
            else:
                setattr(parent, attr, layer)

    for _, name, layer, before in converted:
        report.layers.append(
            LayerPruneStats(name, layer.in_features, layer.out_features, before[0], layer.num_params, layer.sparsity,
                            before[1], layer.memory_bytes())
        )
    report.total_after = _count_nonzero_params(model)
    logger.info("pruned %d layer(s) to sparsity %.3f (%s scope): %d → %d parameters", len(converted), sparsity,
                scope_key, report.total_before, report.total_after)
    return model, report


def _prune_global(layers: list[SparseLinear], sparsity: float) -> None:
    """One magnitude threshold across ``layers``: zero the globally smallest ``sparsity`` fraction of weights."""
    device = layers[0].weight.device
    scores = torch.cat([layer._scores().to(device) for layer in layers])  # (sum of out*in,)
    k = _zeros_for(sparsity, scores.numel())
    if k <= int((scores == -math.inf).sum()):
        return  # already at least that sparse: pruning is monotone
    keep = torch.ones_like(scores, dtype=torch.bool)
    keep[_smallest(scores, k)] = False
    offset = 0
    with torch.no_grad():
        for layer in layers:
            n = layer.mask.numel()
            layer.mask.copy_(keep[offset:offset + n].view_as(layer.mask))
            layer.apply_mask_()
            offset += n
