"""Compress a trained model: replace its ``nn.Linear`` layers by :class:`~tesla_lab.nn.tt_linear.TTLinear` (TT-SVD).

TT-SVD at low rank loses accuracy that a couple of epochs of fine-tuning win back (t3f's MNIST tutorial:
97.1% -> 64.4% right after rank-16 TT-SVD, recovered by fine-tuning), so :func:`compress` can run a short training
loop on data you pass (``finetune=dict(X=..., y=...)``).

>>> import torch
>>> from torch import nn
>>> torch.manual_seed(0)
<torch._C.Generator object at ...>
>>> model = nn.Sequential(nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
>>> small, report = compress(model, rank=4)
>>> [type(m).__name__ for m in small]
['TTLinear', 'ReLU', 'Linear']
>>> report.params_before, report.params_after
(68362, 3594)
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
from collections.abc import Collection, Sequence
from typing import Any

import torch
from torch import nn

from tesla_lab.errors import ConfigError, FactorizationError
from tesla_lab.loss import get_loss, is_classification_loss
from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.optim import get_optimizer
from tesla_lab.tn.factorize import factorize_pair
from tesla_lab.utils import check_xy, to_tensor

__all__ = ["compress", "CompressionReport", "LayerCompression"]

log = logging.getLogger(__name__)

_FINETUNE_DEFAULTS: dict[str, Any] = {
    "X": None, "y": None, "epochs": 2, "optimizer": "adam", "lr": 1e-3, "loss": "cross_entropy", "batch_size": 64,
}


@dataclasses.dataclass(frozen=True)
class LayerCompression:
    """What :func:`compress` did with one ``nn.Linear``: replaced (with its TT shapes, ranks and weight error) or
    kept, with the reason."""

    name: str
    in_features: int
    out_features: int
    params_before: int
    params_after: int
    replaced: bool
    reason: str = ""
    ranks: tuple[int, ...] | None = None
    in_shape: tuple[int, ...] | None = None
    out_shape: tuple[int, ...] | None = None
    relative_error: float | None = None  # ||W - W_tt||_F / ||W||_F right after TT-SVD

    @property
    def compression_ratio(self) -> float:
        return self.params_before / self.params_after


@dataclasses.dataclass
class CompressionReport:
    """Per-layer rows and whole-model totals of a :func:`compress` run; ``str(report)`` is a readable table.

    >>> row = LayerCompression("fc", 64, 64, 4160, 320, True, ranks=(1, 4, 1), relative_error=0.9)
    >>> print(CompressionReport([row], params_before=4160, params_after=320))
    layer  shape    ranks      params         ratio  weight error  note
    fc     64x64    (1, 4, 1)  4,160 -> 320   13.0x  0.900
    total                      4,160 -> 320   13.0x
    """

    layers: list[LayerCompression]
    params_before: int
    params_after: int
    finetune_losses: list[float] = dataclasses.field(default_factory=list)

    @property
    def compression_ratio(self) -> float:
        """Whole-model parameters before over after."""
        return self.params_before / self.params_after

    @property
    def replaced(self) -> list[LayerCompression]:
        """Rows of the layers that became TTLinear."""
        return [row for row in self.layers if row.replaced]

    def __str__(self) -> str:
        header = ("layer", "shape", "ranks", "params", "ratio", "weight error", "note")
        rows = [
            (
                r.name or "(model)",
                f"{r.out_features}x{r.in_features}",
                str(r.ranks) if r.ranks else "-",
                f"{r.params_before:,} -> {r.params_after:,}",
                f"{r.compression_ratio:.1f}x",
                f"{r.relative_error:.3f}" if r.relative_error is not None else "-",
                r.reason,
            )
            for r in self.layers
        ]
        rows.append(("total", "", "", f"{self.params_before:,} -> {self.params_after:,}",
                     f"{self.compression_ratio:.1f}x", "", ""))
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
        if self.finetune_losses:
            lines.append("fine-tuning loss per epoch: " + ", ".join(f"{v:.4f}" for v in self.finetune_losses))
        return "\n".join(lines)


def _n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _skipped(name: str, skip: Collection[str]) -> bool:
    return any(name == s or name.startswith(s + ".") for s in skip)


def compress(
    model: nn.Module,
    rank: int | Sequence[int] | None = None,
    tol: float | None = None,
    *,
    min_features: int = 64,
    skip: Collection[str] = (),
    inplace: bool = False,
    finetune: dict[str, Any] | None = None,
) -> tuple[nn.Module, CompressionReport]:
    """Replace every eligible ``nn.Linear`` in ``model`` by ``TTLinear.from_linear(layer, rank, tol)``.

    A layer is eligible when it is exactly ``nn.Linear`` (subclasses such as attention's ``out_proj``, whose weight
    the parent reads directly, are kept), both its sizes are >= ``min_features`` and can be split into >= 2 modes,
    its name (or a parent's name) is not in ``skip``, and the TT form is smaller than the dense one. Every
    ``nn.Linear`` gets a row in the report, kept ones with the reason.

    Args:
        model: any ``nn.Module``.
        rank: TT rank cap (int or per-cut list); ``tol``: relative weight error allowed per layer. Give at least one.
        min_features: smaller layers stay dense.
        skip: qualified module names to keep dense (``'head'``, ``'encoder.0'``; a name also covers its children).
        inplace: modify ``model`` itself instead of a deep copy.
        finetune: optional dict ``X``, ``y`` (required), ``epochs`` (2), ``optimizer`` ('adam'), ``lr`` (1e-3),
            ``loss`` ('cross_entropy'), ``batch_size`` (64): a short training loop run after the replacement.

    Returns ``(compressed_model, report)``.

    >>> compress(nn.Linear(64, 64))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: compress needs rank= (e.g. rank=8) or tol= (e.g. tol=0.1, a relative weight \
error); with neither, TT-SVD is exact and saves nothing
    """
    if rank is None and tol is None:
        raise ConfigError(
            "compress needs rank= (e.g. rank=8) or tol= (e.g. tol=0.1, a relative weight error); with neither, "
            "TT-SVD is exact and saves nothing"
        )
    if isinstance(min_features, bool) or not isinstance(min_features, int) or min_features < 1:
        raise ConfigError(f"min_features must be an integer >= 1; got {min_features!r}")
    skip = (skip,) if isinstance(skip, str) else tuple(skip)
    finetune_cfg = _finetune_config(finetune) if finetune is not None else None
    target = model if inplace else copy.deepcopy(model)
    params_before = _n_params(target)

    rows: list[LayerCompression] = []
    replacements: list[tuple[str, TTLinear]] = []
    for name, module in target.named_modules():
        if type(module) is not nn.Linear:
            continue
        before = _n_params(module)
        kept = dict(name=name, in_features=module.in_features, out_features=module.out_features,
                    params_before=before, params_after=before, replaced=False)
        if _skipped(name, skip):
            rows.append(LayerCompression(**kept, reason="in skip"))
            continue
        if min(module.in_features, module.out_features) < min_features:
            rows.append(LayerCompression(**kept, reason=f"smaller than min_features={min_features}"))
            continue
        try:
            factorize_pair(module.out_features, module.in_features)
        except FactorizationError:
            rows.append(LayerCompression(**kept, reason="a size cannot be factorized (prime)"))
            continue
        layer = TTLinear.from_linear(module, rank=rank, tol=tol)
        error = layer.to_tt_matrix().relative_error(module.weight.detach())
        info = dict(ranks=layer.ranks, in_shape=layer.in_shape, out_shape=layer.out_shape, relative_error=error)
        if layer.num_params >= before:
            rows.append(LayerCompression(**kept, reason="TT form not smaller at this rank/tol", **info))
            continue
        rows.append(LayerCompression(**{**kept, "params_after": layer.num_params, "replaced": True}, **info))
        replacements.append((name, layer))

    for name, layer in replacements:
        if name == "":  # the model itself is an nn.Linear
            target = layer
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(target.get_submodule(parent_name), child, layer)

    losses = _finetune(target, finetune_cfg) if finetune_cfg is not None else []
    report = CompressionReport(rows, params_before=params_before, params_after=_n_params(target),
                               finetune_losses=losses)
    log.info("compressed %d of %d linear layers: %s -> %s parameters", len(replacements), len(rows),
             f"{report.params_before:,}", f"{report.params_after:,}")
    return target, report


def _finetune_config(finetune: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(finetune, dict):
        raise ConfigError(f"finetune must be a dict like dict(X=X, y=y, epochs=2); got {type(finetune).__name__}")
    unknown = sorted(set(finetune) - set(_FINETUNE_DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown finetune option(s) {unknown}; choose from: {', '.join(_FINETUNE_DEFAULTS)}")
    cfg = {**_FINETUNE_DEFAULTS, **finetune}
    if cfg["X"] is None or cfg["y"] is None:
        raise ConfigError("finetune needs training data: finetune=dict(X=features, y=targets, epochs=2)")
    for key in ("epochs", "batch_size"):
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if key == "epochs" else 1):
            raise ConfigError(f"finetune {key} must be an integer >= {0 if key == 'epochs' else 1}; got {value!r}")
    return cfg


def _finetune(model: nn.Module, cfg: dict[str, Any]) -> list[float]:
    """A plain mini-batch loop (the full Trainer lives in a higher layer); returns the mean loss of each epoch."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    loss_fn = get_loss(cfg["loss"])
    X = to_tensor(cfg["X"], name="X").to(device=device, dtype=dtype)
    y = to_tensor(cfg["y"], name="y").to(device)
    y = y.long() if is_classification_loss(loss_fn) else y.to(dtype)
    check_xy(X, y)
    optimizer = get_optimizer(cfg["optimizer"], model.parameters(), lr=cfg["lr"])
    was_training = model.training
    model.train()
    losses: list[float] = []
    batches = math.ceil(len(X) / cfg["batch_size"])
    for epoch in range(cfg["epochs"]):
        order = torch.randperm(len(X), device=device)
        total = torch.zeros((), device=device)
        for b in range(batches):
            idx = order[b * cfg["batch_size"] : (b + 1) * cfg["batch_size"]]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(idx)
        losses.append(float(total) / len(X))
        log.info("compress fine-tuning epoch %d/%d: loss %.4f", epoch + 1, cfg["epochs"], losses[-1])
    model.train(was_training)
    return losses
