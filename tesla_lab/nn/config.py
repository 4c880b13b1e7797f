"""Models as plain data: ``model.get_config()`` → dict (JSON/YAML-able) → :func:`build_model` → the same model.

Every entry point (Python, CLI, widgets, dashboard, papermill parameters) builds models through
:func:`build_model`, so a run is reproducible from its stored config.

>>> import tesla_lab as tesla
>>> cfg = {"type": "Sequential", "layers": [
...     {"type": "Flatten", "input_shape": [8, 8]},
...     {"type": "Dense", "units": 16, "activation": "relu", "tt_rank": 2},
...     {"type": "Dense", "units": 10}]}
>>> model = tesla.nn.build_model(cfg)
>>> model.get_config()["layers"][1]["units"], model.summary().rows[1].output_shape
(16, (16,))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError
from tesla_lab.nn import layers as L
from tesla_lab.nn.attention import SparseAttention
from tesla_lab.nn.logits import Sigmoid, Softmax
from tesla_lab.nn.sparse import SparseLinear
from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.nn.wrappers import Checkpointed, MixedPrecision

__all__ = ["build_model", "layer_config", "layer_from_config", "LAYER_TYPES"]

LAYER_TYPES: Registry[nn.Module] = Registry("layer type")
for _cls in (L.Dense, L.Flatten, L.Reshape, L.ZeroPad, L.BatchNorm, L.LeakyReLU, L.Dropout, L.Conv2D, L.MaxPool2D,
             L.Activation, nn.ReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.Identity):
    LAYER_TYPES.register(_cls.__name__, _cls)
for _cls in (Softmax, Sigmoid):  # TESLA's, which keep their logits for the loss (over torch's of the same name)
    LAYER_TYPES.register(_cls.__name__, _cls)


def _linear(in_features: int, out_features: int, bias: bool = True) -> nn.Module:
    return nn.Linear(in_features, out_features, bias=bias)


LAYER_TYPES.register("Linear", _linear)

# Layers whose config is read off attributes named like their constructor arguments.
_ATTRS: dict[type[nn.Module], tuple[str, ...]] = {
    nn.Linear: ("in_features", "out_features"),
    TTLinear: ("in_features", "out_features", "in_shape", "out_shape"),
    SparseLinear: ("in_features", "out_features"),
    SparseAttention: ("embed_dim", "num_heads", "attention_type", "window", "block_size", "causal"),
}


def layer_config(module: nn.Module) -> dict[str, Any]:
    """``{"type": ..., **arguments}`` for a layer TESLA Lab can rebuild; raises ConfigError otherwise."""
    kind = type(module).__name__
    if isinstance(module, (Checkpointed, MixedPrecision)):
        extra = {"dtype": module.dtype_name} if isinstance(module, MixedPrecision) else {}
        return {"type": kind, "layer": layer_config(module.module), **extra}
    if isinstance(module, nn.Sequential) and type(module) is nn.Sequential:
        return {"type": "Block", "layers": [layer_config(m) for m in module]}
    getter: Callable[[], dict[str, Any]] | None = getattr(module, "get_config", None)
    if getter is not None:
        return {"type": kind, **getter()}
    for cls, attrs in _ATTRS.items():
        if type(module) is cls:
            cfg = {a: getattr(module, a) for a in attrs if hasattr(module, a)}
            if isinstance(module, (nn.Linear, TTLinear, SparseLinear)):
                cfg["bias"] = module.bias is not None
            if isinstance(module, TTLinear):
                cfg["rank"] = list(module.ranks[1:-1])
            if isinstance(module, SparseLinear):
                cfg["sparsity"] = float(module.sparsity)
            return {"type": kind, **cfg}
    if kind in LAYER_TYPES:
        return {"type": kind}
    raise ConfigError(
        f"layer {kind} cannot be saved as a config (it has no get_config()); use TESLA Lab layers "
        f"({', '.join(LAYER_TYPES.names())}) or add get_config() to {kind}"
    )


_EXTRA: dict[str, Callable[..., nn.Module]] = {
    "TTLinear": lambda rank, **kw: TTLinear(rank=rank, **kw),
    "SparseLinear": SparseLinear,
    "SparseAttention": SparseAttention,
}


def layer_from_config(cfg: dict[str, Any]) -> nn.Module:
    """Inverse of :func:`layer_config`."""
    cfg = dict(cfg)
    kind = cfg.pop("type", None)
    if kind in ("Checkpointed", "MixedPrecision"):
        inner = layer_from_config(cfg.pop("layer"))
        return Checkpointed(inner) if kind == "Checkpointed" else MixedPrecision(inner, **cfg)
    if kind == "Block":
        return nn.Sequential(*(layer_from_config(c) for c in cfg["layers"]))
    if kind in _EXTRA:
        return _EXTRA[kind](**cfg)
    if not isinstance(kind, str):
        raise ConfigError(f"a layer config needs a 'type' (e.g. 'Dense'); got {cfg!r}")
    factory = LAYER_TYPES.get(kind)
    try:
        return factory(**cfg)
    except TypeError as exc:
        raise ConfigError(f"bad arguments for layer {kind}: {exc}; got {cfg!r}") from exc


def build_model(config: dict[str, Any]) -> nn.Module:
    """Build a ``Sequential`` or ``TensorNetwork`` from its config dict (see :meth:`Model.get_config`)."""
    from tesla_lab.nn.network import TensorNetwork
    from tesla_lab.nn.sequential import Sequential

    if not isinstance(config, dict):
        raise ConfigError(f"a model config must be a dict with a 'type'; got {type(config).__name__}")
    cfg = dict(config)
    kind = cfg.pop("type", None)
    if kind == "Sequential":
        layers = [layer_from_config(c) for c in cfg.get("layers", [])]
        return Sequential(layers, input_shape=cfg.get("input_shape"))
    if kind == "TensorNetwork":
        specs = cfg.pop("layers", [])
        net = TensorNetwork(**cfg)
        for spec in specs:
            spec = dict(spec)
            kind_name = spec.pop("kind")
            if kind_name == "module":
                options = ("checkpoint_gradients", "mixed_precision", "input_dim", "output_dim", "data_parallel",
                           "model_parallel")
                net.add_layer(layer_from_config(spec.pop("module")), **{k: spec[k] for k in options if k in spec})
            else:
                net.add_layer(kind_name, **spec)
        return net
    raise ConfigError(f"unknown model type {kind!r}; choose one of: Sequential, TensorNetwork")
