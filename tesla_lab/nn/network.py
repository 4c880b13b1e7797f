"""``TensorNetwork``: an MLP whose layers are tensor trains, grown with ``add_layer``.

>>> import torch, tesla_lab as tesla
>>> net = tesla.TensorNetwork(64, 32, 10, tt_rank=4)
>>> net = net.add_layer("tt", tt_rank=4).add_layer("dense", 16, activation="relu")
>>> net(torch.zeros(3, 64)).shape
torch.Size([3, 10])
>>> net.summary().compression_ratio > 1
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError, FactorizationError, ShapeError
from tesla_lab.nn.activations import get_activation
from tesla_lab.nn.attention import SparseAttention
from tesla_lab.nn.layers import BatchNorm, Dropout
from tesla_lab.nn.model import Model
from tesla_lab.nn.sparse import SparseLinear
from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.nn.wrappers import Checkpointed, MixedPrecision

__all__ = ["TensorNetwork", "Residual"]

log = logging.getLogger(__name__)

LAYER_KINDS: Registry[str] = Registry("layer kind")
for _kind, *_aliases in (("tt", "tensor_train", "ttlinear"), ("dense", "linear"), ("attention", "sparse_attention"),
                         ("sparse", "pruned"), ("batchnorm", "batch_norm", "bn"), ("dropout",),
                         ("activation",)):
    LAYER_KINDS.register(_kind, lambda k=_kind: k, *_aliases)


class Residual(nn.Module):
    """``x + module(x)``: lets attention refine features without losing them.

    >>> Residual(torch.nn.Identity())(torch.ones(2))
    tensor([2., 2.])
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.module(x)


def _token_dim(width: int, num_heads: int) -> int:
    """Largest token size ≤ 32 that divides ``width`` and is a multiple of ``num_heads`` (at least 2 tokens)."""
    for d in range(min(32, width // 2), 0, -1):
        if width % d == 0 and d % num_heads == 0:
            return d
    raise ConfigError(
        f"cannot split {width} features into tokens for attention with num_heads={num_heads}; give token_dim= "
        f"(a divisor of {width} that num_heads divides) or use num_heads=1"
    )


class TensorNetwork(Model):
    """A network ``input_dim → hidden_dim → ... → output_dim``: a first hidden layer (tensor train when both sizes
    factorize), the layers added with :meth:`add_layer`, then a dense output layer.

    Args:
        input_dim: features per sample (images are flattened: (N, 8, 8) works with input_dim=64).
        hidden_dim: width of the first hidden layer, and the default ``units`` of added layers.
        output_dim: classes (cross entropy) or regression targets.
        tt_rank: default TT rank of tensor-train layers.
        activation: hidden activation (``'default'`` = leaky ReLU).
        dropout, batch_norm: defaults applied after every hidden layer.
        input_layer: ``'auto'`` (TT when input_dim and hidden_dim factorize, else dense), ``'tt'`` or ``'dense'``.
        output_activation: e.g. ``'softmax'``; leave ``None`` for training with cross entropy (it takes logits).
    """

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        *,
        tt_rank: int | Sequence[int] = 8,
        activation: str | None = "default",
        dropout: float = 0.0,
        batch_norm: bool = False,
        input_layer: str = "auto",
        output_activation: str | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("input_dim", input_dim), ("hidden_dim", hidden_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer; got {value!r}")
        if input_layer not in ("auto", "tt", "dense"):
            raise ConfigError(f"input_layer must be 'auto', 'tt' or 'dense'; got {input_layer!r}")
        self._check_rank(tt_rank)
        self.input_dim, self.hidden_dim, self.output_dim = input_dim, hidden_dim, output_dim
        self.tt_rank = tt_rank
        self.activation, self.dropout, self.batch_norm = activation, dropout, batch_norm
        self.output_activation = output_activation
        self.input_shape = (input_dim,)
        self._init_args = {"input_dim": input_dim, "hidden_dim": hidden_dim, "output_dim": output_dim,
                           "tt_rank": tt_rank, "activation": activation, "dropout": dropout,
                           "batch_norm": batch_norm, "input_layer": input_layer,
                           "output_activation": output_activation}
        self._specs: list[dict[str, Any]] = []
        self.body = nn.Sequential()
        self._width = input_dim
        first = "tt" if input_layer in ("auto", "tt") else "dense"
        try:
            self._append({"kind": first, "units": hidden_dim})
        except FactorizationError:
            if input_layer == "tt":
                raise
            log.info("input layer %d→%d kept dense: the sizes do not factorize for a tensor train",
                     input_dim, hidden_dim)
            self._append({"kind": "dense", "units": hidden_dim})
        self.out_act = get_activation(output_activation)
        self.head = nn.Linear(self._width, output_dim)

    def add_layer(
        self,
        kind: str | nn.Module = "tt",
        units: int | None = None,
        *,
        tt_rank: int | Sequence[int] | None = None,
        activation: str | None = "inherit",
        attention_type: str | None = None,
        num_heads: int = 2,
        window: int = 2,
        block_size: int = 4,
        token_dim: int | None = None,
        sparsity: float = 0.9,
        dropout: float | None = None,
        batch_norm: bool | None = None,
        checkpoint_gradients: bool = False,
        mixed_precision: bool | str = False,
    ) -> TensorNetwork:
        """Insert a hidden layer before the output layer; returns ``self`` so calls chain.

        ``kind``: ``'tt'`` (tensor train), ``'dense'``, ``'sparse'`` (pruned to ``sparsity``), ``'attention'``
        (sparse self-attention over tokens of the feature vector, with ``attention_type='local'|'block'|'full'``),
        ``'batchnorm'``, ``'dropout'``, ``'activation'``, or any ``nn.Module``.
        ``checkpoint_gradients`` recomputes the layer's activations in backward (saves memory);
        ``mixed_precision`` runs it under bf16 autocast (or ``'fp16'``).
        """
        if getattr(self, "_optimizer", None) is not None:
            raise ConfigError("cannot add layers after training started (the optimizer holds the old parameters); "
                              "add every layer before compile()/fit(), or build a new model")
        if isinstance(kind, nn.Module):
            spec: dict[str, Any] = {"kind": "module", "module": kind}
        else:
            kind_name = "attention" if attention_type is not None and kind == "tt" else LAYER_KINDS.get(kind)()
            spec = {"kind": kind_name, "units": units, "tt_rank": tt_rank, "activation": activation,
                    "attention_type": attention_type, "num_heads": num_heads, "window": window,
                    "block_size": block_size, "token_dim": token_dim, "sparsity": sparsity, "dropout": dropout,
                    "batch_norm": batch_norm}
        spec.update(checkpoint_gradients=checkpoint_gradients, mixed_precision=mixed_precision)
        self._append(spec)
        self._specs.append(spec)
        self.head = nn.Linear(self._width, self.output_dim)
        return self

    def _append(self, spec: dict[str, Any]) -> None:
        kind, width = spec["kind"], self._width
        units = spec.get("units") or (self.hidden_dim if kind in ("tt", "dense", "sparse") else width)
        act = spec.get("activation", "inherit")
        act = self.activation if act == "inherit" else act
        dropout = self.dropout if spec.get("dropout") is None else spec["dropout"]
        batch_norm = self.batch_norm if spec.get("batch_norm") is None else spec["batch_norm"]
        parts: list[nn.Module]
        if kind == "module":
            parts = [spec["module"]]
        elif kind in ("tt", "dense", "sparse"):
            if kind == "tt":
                rank = spec.get("tt_rank") or self.tt_rank
                self._check_rank(rank)
                layer: nn.Module = TTLinear(width, units, rank=rank)
            elif kind == "dense":
                layer = nn.Linear(width, units)
            else:
                layer = SparseLinear(width, units, sparsity=spec.get("sparsity", 0.9))
            parts = [layer]
            if batch_norm:
                parts.append(BatchNorm(units))
            parts.append(get_activation(act))
            if dropout:
                parts.append(Dropout(dropout))
        elif kind == "attention":
            heads = spec.get("num_heads", 2)
            token = spec.get("token_dim") or _token_dim(width, heads)
            attn = SparseAttention(token, heads, attention_type=spec.get("attention_type") or "local",
                                   window=spec.get("window", 2), block_size=spec.get("block_size", 4))
            parts = [Residual(attn)]
        elif kind == "batchnorm":
            parts = [BatchNorm(width)]
        elif kind == "dropout":
            parts = [Dropout(spec.get("dropout") or 0.5)]
        else:  # activation
            parts = [get_activation(act)]
        block: nn.Module = parts[0] if len(parts) == 1 else nn.Sequential(*parts)
        if spec.get("mixed_precision"):
            mp = spec["mixed_precision"]
            block = MixedPrecision(block, dtype="bf16" if mp is True else mp)
        if spec.get("checkpoint_gradients"):
            block = Checkpointed(block)
        self.body.append(block)
        self._width = self._probe_width(block, width) if kind == "module" else (
            units if kind in ("tt", "dense", "sparse") else width)

    @staticmethod
    def _probe_width(block: nn.Module, width: int) -> int:
        with torch.no_grad():
            was = block.training
            block.eval()
            out = block(torch.zeros(2, width))
            block.train(was)
        return int(out.shape[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() > 2:
            x = x.flatten(1)  # images → feature vectors
        if x.dim() != 2 or x.shape[1] != self.input_dim:
            raise ShapeError(
                f"TensorNetwork(input_dim={self.input_dim}) got inputs of shape {tuple(x.shape)}; pass "
                f"(batch, {self.input_dim}) or images whose pixels multiply to {self.input_dim}"
            )
        return self.out_act(self.head(self.body(x)))

    def _summary_layers(self) -> list[tuple[str, nn.Module]]:
        rows: list[tuple[str, nn.Module]] = [(f"hidden{i}", block) for i, block in enumerate(self.body)]
        rows.append(("output", self.head))
        if not isinstance(self.out_act, nn.Identity):
            rows.append(("output_activation", self.out_act))
        return rows

    def get_config(self) -> dict[str, Any]:
        layers = []
        for spec in self._specs:
            if spec["kind"] == "module":
                from tesla_lab.nn.config import layer_config

                layers.append({**spec, "module": layer_config(spec["module"])})
            else:
                layers.append(dict(spec))
        return {"type": "TensorNetwork", **self._init_args, "layers": layers}
