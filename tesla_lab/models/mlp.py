"""Multi-layer perceptron: dense hidden layers (activation, optional batch norm and dropout), then a linear head.

>>> model = build(n_features=4, n_outputs=3, task="classification", hidden_sizes=[16, 8])
>>> [layer["type"] for layer in model.config["layers"]], model.loss
(['Dense', 'Dense', 'Dense'], 'cross_entropy')
"""

from __future__ import annotations

from typing import Any

from tesla_lab.models.hparams import dense, output_loss, rate, sizes
from tesla_lab.models.torch_model import TorchModel

__all__ = ["build", "DEFAULTS", "TASKS", "hidden_layers"]

DEFAULTS: dict[str, Any] = {"hidden_sizes": [64, 32], "activation": "relu", "dropout": 0.0, "batch_norm": False}
TASKS = ("classification", "regression")


def hidden_layers(widths: tuple[int, ...], activation: str, dropout: float, batch_norm: bool) -> list[dict[str, Any]]:
    """Configs of ``Dense`` hidden layers, each with its activation and the optional ``BatchNorm`` (before the
    activation) and ``Dropout``.

    >>> [c["type"] for c in hidden_layers((8,), "relu", 0.5, True)]
    ['Dense', 'BatchNorm', 'Activation', 'Dropout']
    """
    layers: list[dict[str, Any]] = []
    for width in widths:
        layers.append(dense(width, None if batch_norm else activation))
        if batch_norm:  # normalise before the non-linearity
            layers += [{"type": "BatchNorm", "num_features": width}, {"type": "Activation", "activation": activation}]
        if dropout:
            layers.append({"type": "Dropout", "rate": dropout})
    return layers


def build(n_features: int, n_outputs: int, task: str, **hparams: Any) -> TorchModel:
    """An MLP ``n_features → hidden_sizes... → n_outputs``."""
    hp = {**DEFAULTS, **hparams}
    widths = sizes("hidden_sizes", hp["hidden_sizes"])
    layers = hidden_layers(widths, hp["activation"], rate("dropout", hp["dropout"]), bool(hp["batch_norm"]))
    layers[0]["input_dim"] = n_features
    config = {"type": "Sequential", "input_shape": [n_features], "layers": [*layers, dense(n_outputs)]}
    return TorchModel(config, family="mlp", task=task, n_features=n_features, n_outputs=n_outputs,
                      loss=output_loss(task, n_outputs), hparams=hp)
