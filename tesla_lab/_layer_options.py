"""The per-layer options of a ``TensorNetwork`` (torch and Keras alike), read from the specs ``add_layer`` records.

Plain Python: the Keras network uses it on backends without torch.

>>> layer_flags([{"checkpoint_gradients": True}, {}, {"mixed_precision": True, "data_parallel": True}])
{'hidden1': ('checkpoint_gradients',), 'hidden3': ('mixed_precision=bf16', 'data_parallel')}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["layer_flags"]


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
