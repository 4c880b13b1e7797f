"""Linear regression: one ``Dense`` layer, no activation, trained with mean squared error.

>>> model = build(n_features=3, n_outputs=1, task="regression")
>>> model.config
{'type': 'Sequential', 'input_shape': [3], 'layers': [{'type': 'Dense', 'units': 1, 'activation': None, \
'input_dim': 3}]}
"""

from __future__ import annotations

from typing import Any

from tesla_lab.models.hparams import dense
from tesla_lab.models.torch_model import TorchModel

__all__ = ["build", "DEFAULTS", "TASKS"]

DEFAULTS: dict[str, Any] = {}
TASKS = ("regression",)


def build(n_features: int, n_outputs: int, task: str, **hparams: Any) -> TorchModel:
    """``y = x W^T + b`` for ``n_outputs`` regression targets."""
    config = {"type": "Sequential", "input_shape": [n_features], "layers": [dense(n_outputs, input_dim=n_features)]}
    return TorchModel(config, family="linear", task=task, n_features=n_features, n_outputs=n_outputs, loss="mse",
                      hparams=hparams)
