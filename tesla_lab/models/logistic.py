"""Logistic regression: one ``Dense`` layer giving one logit (binary, sigmoid + BCE) or C logits (multinomial,
softmax + cross entropy).

>>> build(n_features=4, n_outputs=2, task="classification").loss
'bce'
>>> build(n_features=4, n_outputs=3, task="classification").config["layers"][0]["units"]
3
"""

from __future__ import annotations

from typing import Any

from tesla_lab.models.hparams import dense
from tesla_lab.models.torch_model import TorchModel

__all__ = ["build", "DEFAULTS", "TASKS"]

DEFAULTS: dict[str, Any] = {}
TASKS = ("classification",)


def build(n_features: int, n_outputs: int, task: str, **hparams: Any) -> TorchModel:
    """A linear classifier over ``n_outputs`` classes (one logit when there are two)."""
    binary = n_outputs == 2
    config = {"type": "Sequential", "input_shape": [n_features],
              "layers": [dense(1 if binary else n_outputs, input_dim=n_features)]}
    return TorchModel(config, family="logistic", task=task, n_features=n_features, n_outputs=n_outputs,
                      loss="bce" if binary else "cross_entropy", hparams=hparams)
