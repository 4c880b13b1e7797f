"""The ``sequential`` model family: a network given as a list of layers (what the dashboard's model builder edits).

Hyper-parameters: ``layers``, a list of :func:`~tesla_lab.nn.build_model` layer configs (``Dense`` with or without
``tt_rank``, ``Conv2D``, ``BatchNorm``, ``LeakyReLU``, ``Dropout``, ``Flatten``, ``MaxPool2D``, ...), and
``input_shape``, the shape of one sample (``[1, 8, 8]`` for 8x8 images; ``None``: the flat feature vector). A
``Reshape`` from the flat features to ``input_shape`` is put first when they differ, and a linear ``Dense`` head with
one output per class (or target) is appended, so the same layer list fits any dataset of the right shape.

>>> from tesla_lab.models import make_model
>>> model = make_model("sequential", 64, 10, "classification",
...                    layers=[{"type": "Dense", "units": 16, "activation": "relu", "tt_rank": 2}])
>>> [layer["type"] for layer in model.config["layers"]], model.module.summary().compression_ratio > 1
(['Dense', 'Dense'], True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.models.hparams import dense, output_loss
from tesla_lab.models.torch_model import TorchModel

__all__ = ["NAME", "DEFAULTS", "TASKS", "build", "network_config"]

NAME = "sequential"
DEFAULTS: dict[str, Any] = {"layers": [], "input_shape": None}
TASKS = ("classification", "regression")


def _layers(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(c, Mapping) and "type" in c for c in value):
        raise ConfigError(f"layers must be a list of layer configs like {{'type': 'Dense', 'units': 64}}; got "
                          f"{value!r:.200}")
    return [dict(c) for c in value]


def _input_shape(value: Any, n_features: int) -> list[int]:
    if value is None:
        return [n_features]
    if (not isinstance(value, (list, tuple)) or not value
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in value)):
        raise ConfigError(f"input_shape must be a list of positive sizes (e.g. [1, 8, 8]) or None; got {value!r}")
    if math.prod(value) != n_features:
        raise ConfigError(f"input_shape {list(value)} holds {math.prod(value)} values but the data has {n_features} "
                          "features per sample; use a shape whose product is the feature count, or None")
    return list(value)


def network_config(layers: Any, n_features: int, n_outputs: int, input_shape: Any = None) -> dict[str, Any]:
    """The :func:`~tesla_lab.nn.build_model` config of ``[Reshape] + layers + [Flatten] + Dense(n_outputs)``.

    >>> [c["type"] for c in network_config([{"type": "Conv2D", "filters": 4}], 64, 10, [1, 8, 8])["layers"]]
    ['Reshape', 'Conv2D', 'Flatten', 'Dense']
    """
    layers = _layers(layers)
    shape = _input_shape(input_shape, n_features)
    head: list[dict[str, Any]] = []
    if shape != [n_features]:
        head.append({"type": "Reshape", "target_shape": shape, "input_shape": [n_features]})
    # images (C, H, W) must be flat again before the head: add a Flatten unless one follows the last spatial layer
    spatial = [i for i, c in enumerate(layers) if c["type"] in ("Reshape", "Conv2D", "MaxPool2D")]
    start = spatial[-1] + 1 if spatial else 0
    flat_after = any(c["type"] == "Flatten" for c in layers[start:])
    tail = [{"type": "Flatten"}] if (spatial or len(shape) > 1) and not flat_after else []
    return {"type": "Sequential", "input_shape": [n_features], "layers": [*head, *layers, *tail, dense(n_outputs)]}


def build(n_features: int, n_outputs: int, task: str, **hparams: Any) -> TorchModel:
    """The network of :func:`network_config` over ``n_features`` inputs, with the loss that fits ``task``."""
    hp = {**DEFAULTS, **hparams}
    config = network_config(hp["layers"], n_features, n_outputs, hp["input_shape"])
    hp["layers"] = _layers(hp["layers"])
    if hp["input_shape"] is not None and list(hp["input_shape"]) == [n_features]:
        hp["input_shape"] = None
    return TorchModel(config, family=NAME, task=task, n_features=n_features, n_outputs=n_outputs,
                      loss=output_loss(task, n_outputs), hparams=hp)
