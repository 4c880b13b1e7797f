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

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from tesla_lab import _layer_options as layer_specs
from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn.activations import get_activation
from tesla_lab.nn.attention import SparseAttention
from tesla_lab.nn.layers import BatchNorm, Dropout
from tesla_lab.nn.model import Model
from tesla_lab.nn.parallel import ModelParallel, choose_strategy, inactive_message, rebuildable_optimizer, world_size
from tesla_lab.nn.sparse import SparseLinear
from tesla_lab.nn.summary import ModelSummary, summarize
from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.nn.wrappers import Checkpointed, MixedPrecision
from tesla_lab.optim import get_optimizer

if TYPE_CHECKING:  # pragma: no cover
    from tesla_lab.train import History

__all__ = ["TensorNetwork", "Residual"]

LAYER_KINDS: Registry[str] = Registry("layer kind")
for _kind, *_aliases in (("tt", "tensor_train", "ttlinear"), ("dense", "linear"), ("attention", "sparse_attention"),
                         ("sparse", "pruned"), ("batchnorm", "batch_norm", "bn"), ("dropout",),
                         ("activation",)):
    LAYER_KINDS.register(_kind, lambda k=_kind: k, *_aliases)

#: ``attention_type`` names of the TESLA documents mapped to SparseAttention's patterns
ATTENTION_ALIASES = {"sparse": "block"}


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


class TensorNetwork(Model):
    """A network ``input_dim → hidden_dim → ... → output_dim``: a first hidden layer (tensor train when both sizes
    factorize), the layers added with :meth:`add_layer`, then a dense output layer.

    Layers take per-layer options (sparse attention, gradient checkpointing, mixed precision, data and model
    parallelism: see :meth:`add_layer`), which :meth:`summary` lists per layer. ``loss='mse'`` with integer class
    labels one-hot encodes them to the ``output_dim`` outputs.

    >>> net = TensorNetwork(input_dim=100, hidden_dim=10, output_dim=10)
    >>> net = net.add_layer(input_dim=10, hidden_dim=10, output_dim=10, checkpoint_gradients=True)
    >>> net.layer_flags()
    {'hidden1': ('checkpoint_gradients',)}

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
        layer_specs.check_network_args(input_dim, hidden_dim, output_dim, input_layer)
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
        self._parallel_warned = False  # the "parallel flags inactive in one process" warning is given once
        self._fit_strategy: str | None = None
        self.body = nn.Sequential()
        self._width = input_dim
        layer_specs.append_input_layer(self._append, input_layer, input_dim, hidden_dim)
        self.out_act = get_activation(output_activation)
        self.head = nn.Linear(self._width, output_dim)

    def add_layer(
        self,
        kind: str | nn.Module = "tt",
        units: int | None = None,
        *,
        input_dim: int | None = None,
        hidden_dim: int | None = None,
        output_dim: int | None = None,
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
        data_parallel: bool = False,
        model_parallel: bool = False,
    ) -> TensorNetwork:
        """Insert a hidden layer before the output layer; returns ``self`` so calls chain.

        ``kind``: ``'tt'`` (tensor train), ``'dense'``, ``'sparse'`` (pruned to ``sparsity``), ``'attention'``
        (sparse self-attention over tokens of the feature vector, with ``attention_type='local'|'block'|'full'``;
        ``'sparse'`` is the block-sparse pattern), ``'batchnorm'``, ``'dropout'``, ``'activation'``, or any
        ``nn.Module``.

        Sizes, as in the constructor: ``input_dim`` must equal the width the previous layer outputs (checked;
        optional). ``input_dim → hidden_dim → output_dim`` builds a block of two layers of ``kind`` (one when only
        one of ``hidden_dim``/``output_dim``/``units`` is given; ``units`` is another name for ``output_dim``);
        the next layer's ``input_dim`` is this ``output_dim``. An attention layer keeps the width; with
        ``hidden_dim``/``output_dim`` it is followed by that feed-forward block (tensor trains), as in a
        transformer block.

        Options of the layer (listed per layer by :meth:`summary`):
        ``checkpoint_gradients`` recomputes the layer's activations in backward (saves memory);
        ``mixed_precision`` runs it under bf16 autocast (or ``'fp16'``);
        ``data_parallel`` trains the whole network with DDP when the script runs as several processes;
        ``model_parallel`` shards this layer's parameters over those processes (FSDP on this layer, DDP on the
        rest). In one process both are inactive and ``fit`` warns once; see :mod:`tesla_lab.nn.parallel`.

        >>> net = TensorNetwork(input_dim=100, hidden_dim=10, output_dim=10)
        >>> net = net.add_layer(input_dim=10, hidden_dim=10, output_dim=10, attention_type="sparse")
        >>> net.summary().rows[1].flags
        ('attention_type=sparse',)
        >>> net.add_layer(input_dim=12, output_dim=10)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ShapeError: add_layer(input_dim=12) does not match the previous layer hidden1, which \
outputs 10 features; pass input_dim=10 (or leave it out)
        """
        if getattr(self, "_optimizer", None) is not None:
            raise ConfigError("cannot add layers after training started (the optimizer holds the old parameters); "
                              "add every layer before compile()/fit(), or build a new model")
        recorded = layer_specs.check_add_layer(
            self._width, len(self._specs), units=units, input_dim=input_dim, hidden_dim=hidden_dim,
            output_dim=output_dim, checkpoint_gradients=checkpoint_gradients, mixed_precision=mixed_precision,
            data_parallel=data_parallel, model_parallel=model_parallel)
        if isinstance(kind, nn.Module):
            spec: dict[str, Any] = {"kind": "module", "module": kind}
            if hidden_dim is not None:
                raise ConfigError("add_layer: hidden_dim applies to layers built by kind name; a module you pass "
                                  "has its own sizes (give output_dim= to check its output width)")
        else:
            kind_name = "attention" if attention_type is not None and kind == "tt" else LAYER_KINDS.get(kind)()
            spec = {"kind": kind_name, "units": units, "tt_rank": tt_rank, "activation": activation,
                    "attention_type": attention_type, "num_heads": num_heads, "window": window,
                    "block_size": block_size, "token_dim": token_dim, "sparsity": sparsity, "dropout": dropout,
                    "batch_norm": batch_norm}
        spec.update(recorded)
        self._append(spec)
        self._specs.append(spec)
        self.head = nn.Linear(self._width, self.output_dim)
        return self

    def _layer(self, kind: str, width: int, units: int, spec: dict[str, Any]) -> list[nn.Module]:
        """One hidden layer ``width → units`` of ``kind`` with its normalization, activation and dropout."""
        act, dropout, batch_norm = layer_specs.layer_settings(spec, self.activation, self.dropout, self.batch_norm)
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
        return parts

    def _append(self, spec: dict[str, Any]) -> None:
        kind, width = spec["kind"], self._width
        parts: list[nn.Module] = []
        new_width = width
        if kind == "module":
            parts = [spec["module"]]
        elif kind in ("tt", "dense", "sparse", "attention"):
            if kind == "attention":
                heads = spec.get("num_heads", 2)
                token = spec.get("token_dim") or layer_specs.token_dim(width, heads)
                pattern = spec.get("attention_type") or "local"
                attn = SparseAttention(token, heads, attention_type=ATTENTION_ALIASES.get(pattern, pattern),
                                       window=spec.get("window", 2), block_size=spec.get("block_size", 4))
                parts = [Residual(attn)]
            widths = layer_specs.block_widths(spec, self.hidden_dim)
            ffn: list[nn.Module] = []
            for units in widths:  # attention: the optional feed-forward block after it
                ffn += self._layer("tt" if kind == "attention" else kind, new_width, units, spec)
                new_width = units
            if len(widths) == 2 and new_width == width:
                # input_dim → hidden_dim → output_dim == input_dim: a residual block (x + f(x)), as the
                # feed-forward block of a transformer, so that deep stacks of narrow blocks still train
                ffn = [Residual(nn.Sequential(*ffn))]
            parts += ffn
        elif spec.get("output_dim") not in (None, width):
            raise ShapeError(f"add_layer({kind!r}, output_dim={spec['output_dim']}): a {kind} layer keeps the width "
                             f"{width} of its input; pass output_dim={width} (or leave it out)")
        elif kind == "batchnorm":
            parts = [BatchNorm(width)]
        elif kind == "dropout":
            parts = [Dropout(spec.get("dropout") or 0.5)]
        else:  # activation
            act = spec.get("activation", "inherit")
            parts = [get_activation(self.activation if act == "inherit" else act)]
        block: nn.Module = parts[0] if len(parts) == 1 else nn.Sequential(*parts)
        if kind == "module":
            new_width = self._probe_width(block, width)
            if spec.get("output_dim") is not None and spec["output_dim"] != new_width:
                raise ShapeError(f"add_layer(output_dim={spec['output_dim']}) does not match the module, which "
                                 f"outputs {new_width} features; pass output_dim={new_width} (or leave it out)")
        if spec.get("mixed_precision"):
            mp = spec["mixed_precision"]
            block = MixedPrecision(block, dtype="bf16" if mp is True else mp)
        if spec.get("checkpoint_gradients"):
            block = Checkpointed(block)
        if spec.get("model_parallel"):
            block = ModelParallel(block)
        self.body.append(block)
        self._width = new_width

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

    # -- per-layer options and parallelism -----------------------------------------------------------------------
    def layer_flags(self) -> dict[str, tuple[str, ...]]:
        """The options each hidden layer was added with, by :meth:`summary` row name.

        >>> TensorNetwork(16, 16, 2).add_layer("dense", 8, checkpoint_gradients=True).layer_flags()
        {'hidden1': ('checkpoint_gradients',)}
        """
        return layer_specs.layer_flags(self._specs)

    def _parallel_flags(self) -> tuple[bool, bool]:
        return (any(spec.get("data_parallel") for spec in self._specs),
                any(spec.get("model_parallel") for spec in self._specs))

    def _parallel_notes(self) -> list[str]:
        data_parallel, model_parallel = self._parallel_flags()
        if not (data_parallel or model_parallel):
            return []
        world = world_size()
        if world == 1:
            names = [k for k, on in (("data_parallel", data_parallel), ("model_parallel", model_parallel)) if on]
            return [f"Parallel: {inactive_message(names)}."]
        sharded = [name for name, flags in self.layer_flags().items() if "model_parallel" in flags]
        return [f"Parallel: DDP over {world} processes" + (
            f"; {', '.join(sharded)} sharded over them (FSDP), 1/{world} of its parameters per process"
            if sharded else "")]

    def summary(self, input_shape: Sequence[int] | None = None) -> ModelSummary:
        """Per-layer output shapes, parameters, TT compression and the options each layer was added with
        (``Flags``); a note says whether the parallel flags are active in this process."""
        shape = tuple(input_shape) if input_shape is not None else self.input_shape
        return summarize(self, shape, self._summary_layers(), flags=self.layer_flags(), notes=self._parallel_notes())

    def fit(self, X: Any, y: Any = None, **kwargs: Any) -> History:
        """As :meth:`Model.fit`; with ``data_parallel``/``model_parallel`` layers it picks the strategy: DDP, or
        FSDP on the ``model_parallel`` layers and DDP on the rest, when the script runs as several processes;
        one process otherwise, with a warning (once per network) that the flags are inactive."""
        cfg = self.get_compile_config()
        data_parallel, model_parallel = self._parallel_flags()
        strategy = choose_strategy(data_parallel, model_parallel, world_size())
        if strategy == "single" and not getattr(self, "_parallel_warned", False):
            names = [k for k, on in (("data_parallel", data_parallel), ("model_parallel", model_parallel)) if on]
            warnings.warn(inactive_message(names), UserWarning, stacklevel=2)
            self._parallel_warned = True
        compiled = None
        if strategy == "model_parallel":  # the trainer builds the optimizer on the sharded parameters
            self._build_from(X)
            if self._optimizer is None:
                self._optimizer = get_optimizer(self._optimizer_spec, self.parameters(), lr=cfg.lr)
            compiled = self._optimizer
            self._optimizer = rebuildable_optimizer(compiled)  # type: ignore[assignment]
        self._fit_strategy = strategy
        try:
            return super().fit(X, y, **kwargs)
        finally:
            self._fit_strategy = None
            if compiled is not None:
                self._optimizer = compiled  # it holds this model's (unsharded) parameters, which got the weights

    def _trainer(self, **kwargs: Any) -> Any:
        if getattr(self, "_fit_strategy", None) is not None:
            kwargs.setdefault("strategy", self._fit_strategy)
        return super()._trainer(**kwargs)

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
