"""A small convolutional network for images given as flat pixel rows (e.g. the 8x8 ``digits``: 64 columns).

``Reshape`` to ``(C, H, W)``, then per entry of ``filters`` a 'same'-padded ``Conv2D`` and a 2x2 ``MaxPool2D``
(while the image is at least 2x2), ``Flatten``, dense hidden layers and a linear head.

>>> model = build(n_features=64, n_outputs=10, task="classification")
>>> [layer["type"] for layer in model.config["layers"]][:4], model.hparams["image_shape"]
(['Reshape', 'Conv2D', 'MaxPool2D', 'Conv2D'], [1, 8, 8])
"""

from __future__ import annotations

import math
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.models.hparams import dense, output_loss, positive, rate, sizes
from tesla_lab.models.mlp import hidden_layers
from tesla_lab.models.torch_model import TorchModel

__all__ = ["build", "DEFAULTS", "TASKS", "image_shape"]

DEFAULTS: dict[str, Any] = {"image_shape": None, "filters": [8, 16], "kernel_size": 3, "hidden_sizes": [32],
                            "activation": "relu", "dropout": 0.0}
TASKS = ("classification", "regression")


def image_shape(n_features: int, shape: Any = None) -> tuple[int, int, int]:
    """``(channels, height, width)`` of the images in rows of ``n_features`` pixels; a square single-channel image
    when ``shape`` is None.

    >>> image_shape(64), image_shape(48, [3, 4, 4])
    ((1, 8, 8), (3, 4, 4))
    >>> image_shape(10)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: cnn needs image_shape=[height, width] (or [channels, height, width]) whose product \
is the 10 features; 10 is not a square number of pixels
    """
    if shape is None:
        side = math.isqrt(n_features)
        if side * side != n_features:
            raise ConfigError(f"cnn needs image_shape=[height, width] (or [channels, height, width]) whose product is "
                              f"the {n_features} features; {n_features} is not a square number of pixels")
        return 1, side, side
    dims = sizes("image_shape", shape)
    if len(dims) not in (2, 3) or math.prod(dims) != n_features:
        raise ConfigError(f"image_shape must be [height, width] or [channels, height, width] with product "
                          f"{n_features} (the number of features); got {list(dims)}")
    return (1, *dims) if len(dims) == 2 else dims  # type: ignore[return-value]


def build(n_features: int, n_outputs: int, task: str, **hparams: Any) -> TorchModel:
    """A CNN over ``image_shape`` images (inferred as square single-channel when left out)."""
    hp = {**DEFAULTS, **hparams}
    shape = image_shape(n_features, hp["image_shape"])
    hp["image_shape"] = list(shape)  # stored resolved, so the saved hparams rebuild the same network
    channels, height, width = shape
    kernel = positive("kernel_size", hp["kernel_size"])
    act = hp["activation"]
    layers: list[dict[str, Any]] = [{"type": "Reshape", "target_shape": [channels, height, width],
                                     "input_shape": [n_features]}]
    for f in sizes("filters", hp["filters"]):
        layers.append({"type": "Conv2D", "filters": f, "kernel_size": kernel, "padding": "same", "activation": act,
                       "in_channels": channels})
        channels = f
        if height >= 2 and width >= 2:
            layers.append({"type": "MaxPool2D", "pool_size": 2})
            height, width = height // 2, width // 2
    hidden = hidden_layers(sizes("hidden_sizes", hp["hidden_sizes"], allow_empty=True), act,
                           rate("dropout", hp["dropout"]), False)
    if hidden:
        hidden[0]["input_dim"] = channels * height * width
    layers += [{"type": "Flatten"}, *hidden, dense(n_outputs)]
    config = {"type": "Sequential", "input_shape": [n_features], "layers": layers}
    return TorchModel(config, family="cnn", task=task, n_features=n_features, n_outputs=n_outputs,
                      loss=output_loss(task, n_outputs), hparams=hp)
