"""TT-MLP: an MLP whose hidden layers are tensor trains (:class:`~tesla_lab.nn.TTLinear`), built as a
:class:`~tesla_lab.nn.TensorNetwork`.

A layer whose input or output size cannot be split into tensor-train modes (a prime such as 13 features) stays
dense; that choice is part of the saved config, so the network rebuilds identically.

>>> model = build(n_features=16, n_outputs=3, task="classification", hidden_sizes=[32, 32], tt_rank=4)
>>> model.config["type"], [layer["kind"] for layer in model.config["layers"]]
('TensorNetwork', ['tt'])
>>> type(model.module.body[0][0]).__name__, model.module.summary().compression_ratio > 1
('TTLinear', True)
"""

from __future__ import annotations

import logging
from typing import Any

from tesla_lab.errors import FactorizationError
from tesla_lab.models.hparams import output_loss, positive, rate, sizes
from tesla_lab.models.torch_model import TorchModel
from tesla_lab.tn.factorize import resolve_shapes

__all__ = ["build", "DEFAULTS", "TASKS", "factorizes"]

logger = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {"hidden_sizes": [64, 64], "tt_rank": 4, "activation": "relu", "dropout": 0.0}
TASKS = ("classification", "regression")


def factorizes(in_features: int, out_features: int) -> bool:
    """True when a ``in_features → out_features`` weight can be a tensor train (both sizes split into modes).

    >>> factorizes(64, 32), factorizes(13, 32)
    (True, False)
    """
    try:
        resolve_shapes(out_features, in_features)
    except FactorizationError:
        return False
    return True


def build(n_features: int, n_outputs: int, task: str, **hparams: Any) -> TorchModel:
    """A TensorNetwork ``n_features → hidden_sizes... → n_outputs`` with TT hidden layers of rank ``tt_rank``."""
    hp = {**DEFAULTS, **hparams}
    widths = sizes("hidden_sizes", hp["hidden_sizes"])
    rank = positive("tt_rank", hp["tt_rank"])
    layers = []
    for previous, width in zip(widths, widths[1:]):
        kind = "tt" if factorizes(previous, width) else "dense"
        if kind == "dense":
            logger.info("tt_mlp: hidden layer %d→%d kept dense (the sizes do not factorize)", previous, width)
        layers.append({"kind": kind, "units": width})
    config = {"type": "TensorNetwork", "input_dim": n_features, "hidden_dim": widths[0], "output_dim": n_outputs,
              "tt_rank": rank, "activation": hp["activation"], "dropout": rate("dropout", hp["dropout"]),
              "input_layer": "auto", "layers": layers}
    return TorchModel(config, family="tt_mlp", task=task, n_features=n_features, n_outputs=n_outputs,
                      loss=output_loss(task, n_outputs), hparams=hp)
