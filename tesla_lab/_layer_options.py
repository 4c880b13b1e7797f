"""The layer specs of a ``TensorNetwork`` (torch and Keras alike): checking the sizes and options ``add_layer`` is
given, the widths of a block, the per-layer options read back from the recorded specs, and the input layer's
"tensor train, else dense" fallback.

Plain Python (no torch, no Keras): the Keras network uses it on backends without torch; each network builds its
own layers from what these functions decide.

>>> layer_flags([{"checkpoint_gradients": True}, {}, {"mixed_precision": True, "data_parallel": True}])
{'hidden1': ('checkpoint_gradients',), 'hidden3': ('mixed_precision=bf16', 'data_parallel')}
>>> block_widths({"kind": "tt", "hidden_dim": 16, "output_dim": 8}, default=32)
[16, 8]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tesla_lab.errors import ConfigError, FactorizationError, ShapeError

__all__ = ["layer_flags", "check_dim", "check_network_args", "check_add_layer", "block_widths", "layer_settings",
           "token_dim", "append_input_layer"]

log = logging.getLogger(__name__)


def layer_flags(specs: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """The options each added layer was given, by summary row name (``hidden1`` is the first ``add_layer``)."""
    flags: dict[str, tuple[str, ...]] = {}
    for i, spec in enumerate(specs, start=1):
        found = []
        if spec.get("attention_type") is not None:
            found.append(f"attention_type={spec['attention_type']}")
        if spec.get("checkpoint_gradients"):
            found.append("checkpoint_gradients")
        if spec.get("mixed_precision"):
            mp = spec["mixed_precision"]
            found.append(f"mixed_precision={'bf16' if mp is True else mp}")
        found += [key for key in ("data_parallel", "model_parallel") if spec.get(key)]
        if found:
            flags[f"hidden{i}"] = tuple(found)
    return flags


def check_dim(name: str, value: object, optional: bool = False) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a positive integer (or ``None`` when ``optional``).

    >>> check_dim("units", None, optional=True)
    >>> check_dim("hidden_dim", 0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: hidden_dim must be a positive integer; got 0
    """
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer{' (or None)' if optional else ''}; got {value!r}")


def check_network_args(input_dim: object, hidden_dim: object, output_dim: object, input_layer: object) -> None:
    """Check a ``TensorNetwork`` constructor's sizes and ``input_layer``.

    >>> check_network_args(64, 32, 10, "conv")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: input_layer must be 'auto', 'tt' or 'dense'; got 'conv'
    """
    for name, value in (("input_dim", input_dim), ("hidden_dim", hidden_dim), ("output_dim", output_dim)):
        check_dim(name, value)
    if input_layer not in ("auto", "tt", "dense"):
        raise ConfigError(f"input_layer must be 'auto', 'tt' or 'dense'; got {input_layer!r}")


def check_add_layer(width: int, added: int, *, units: Any, input_dim: Any, hidden_dim: Any, output_dim: Any,
                    checkpoint_gradients: Any, mixed_precision: Any, data_parallel: Any,
                    model_parallel: Any) -> dict[str, Any]:
    """Check the sizes and flags given to ``add_layer`` on a network whose last layer (the ``added``-th added one,
    ``hidden0`` the input layer) outputs ``width`` features; return the part of the layer's spec every kind records
    (sizes and options; ``mixed_precision`` is checked by each network, which knows its precisions).

    >>> check_add_layer(10, 1, units=None, input_dim=10, hidden_dim=None, output_dim=8, checkpoint_gradients=True,
    ...                 mixed_precision=False, data_parallel=False, model_parallel=False)["output_dim"]
    8
    >>> check_add_layer(10, 1, units=None, input_dim=12, hidden_dim=None, output_dim=10, checkpoint_gradients=False,
    ...                 mixed_precision=False, data_parallel=False, model_parallel=False)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ShapeError: add_layer(input_dim=12) does not match the previous layer hidden1, which outputs \
10 features; pass input_dim=10 (or leave it out)
    """
    for name, value in (("units", units), ("input_dim", input_dim), ("hidden_dim", hidden_dim),
                        ("output_dim", output_dim)):
        check_dim(f"add_layer: {name}", value, optional=True)
    for name, flag in (("checkpoint_gradients", checkpoint_gradients), ("data_parallel", data_parallel),
                       ("model_parallel", model_parallel)):
        if not isinstance(flag, bool):
            raise ConfigError(f"add_layer: {name} must be True or False; got {flag!r}")
    if units is not None and output_dim is not None and units != output_dim:
        raise ConfigError(f"add_layer: units={units} and output_dim={output_dim} both give the layer's output "
                          "width; pass one of them")
    if input_dim is not None and input_dim != width:
        raise ShapeError(f"add_layer(input_dim={input_dim}) does not match the previous layer hidden{added}, which "
                         f"outputs {width} features; pass input_dim={width} (or leave it out)")
    return {"input_dim": input_dim, "hidden_dim": hidden_dim, "output_dim": output_dim,
            "checkpoint_gradients": checkpoint_gradients, "mixed_precision": mixed_precision,
            "data_parallel": data_parallel, "model_parallel": model_parallel}


def block_widths(spec: Mapping[str, Any], default: int) -> list[int]:
    """Output widths of the layers of a tt/dense/sparse block (or of the feed-forward block after attention):
    ``[hidden_dim, output_dim]``, one of them, or ``[default]`` (the network's ``hidden_dim``; none after attention).

    >>> block_widths({"kind": "dense", "units": 8}, default=32), block_widths({"kind": "attention"}, default=32)
    ([8], [])
    """
    out = spec.get("output_dim") or spec.get("units")
    hidden = spec.get("hidden_dim")
    if out is None:
        return [hidden] if hidden is not None else ([] if spec["kind"] == "attention" else [default])
    return [hidden, out] if hidden is not None else [out]


def layer_settings(spec: Mapping[str, Any], activation: Any, dropout: float, batch_norm: bool) -> tuple[Any, float,
                                                                                                        bool]:
    """A hidden layer's ``(activation, dropout, batch_norm)``: the spec's own, else the network's defaults.

    >>> layer_settings({"activation": "inherit", "dropout": 0.2, "batch_norm": None}, "relu", 0.0, True)
    ('relu', 0.2, True)
    """
    act = spec.get("activation", "inherit")
    return (activation if act == "inherit" else act,
            dropout if spec.get("dropout") is None else spec["dropout"],
            batch_norm if spec.get("batch_norm") is None else spec["batch_norm"])


def token_dim(width: int, num_heads: int) -> int:
    """Largest token size ≤ 32 that divides ``width`` and is a multiple of ``num_heads`` (at least 2 tokens).

    >>> token_dim(64, 2), token_dim(10, 1)
    (32, 5)
    """
    for d in range(min(32, width // 2), 0, -1):
        if width % d == 0 and d % num_heads == 0:
            return d
    raise ConfigError(
        f"cannot split {width} features into tokens for attention with num_heads={num_heads}; give token_dim= "
        f"(a divisor of {width} that num_heads divides) or use num_heads=1"
    )


def append_input_layer(append: Callable[[dict[str, Any]], None], input_layer: str, input_dim: int,
                       hidden_dim: int) -> None:
    """Build the first hidden layer ``input_dim → hidden_dim`` with ``append(spec)``: a tensor train for
    ``input_layer='tt'``, ``'dense'`` for dense; ``'auto'`` tries a tensor train and keeps it dense when the sizes
    do not factorize (``append`` raised :class:`FactorizationError`).

    >>> def append(spec):
    ...     if spec["kind"] == "tt":
    ...         raise FactorizationError("7 does not factorize")
    ...     built.append(spec)
    >>> built = []; append_input_layer(append, "auto", 7, 4); built
    [{'kind': 'dense', 'units': 4}]
    """
    try:
        append({"kind": "tt" if input_layer in ("auto", "tt") else "dense", "units": hidden_dim})
    except FactorizationError:
        if input_layer == "tt":
            raise
        log.info("input layer %d→%d kept dense: the sizes do not factorize for a tensor train", input_dim, hidden_dim)
        append({"kind": "dense", "units": hidden_dim})
