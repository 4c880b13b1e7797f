"""TESLA Lab: tensor-network (tensor-train) neural networks on PyTorch, with a Keras-like API.

>>> import tesla_lab as tesla
>>> model = tesla.TensorNetwork(input_dim=64, hidden_dim=32, output_dim=10, tt_rank=4)
>>> model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])  # doctest: +ELLIPSIS
TensorNetwork(...)

Submodules and names load on first use (PEP 562), so ``import tesla_lab`` (and ``tesla --help``) does not import
torch, pandas or Optuna until something needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

# `train` and `automl` are packages that are also callable: tesla.train(model, X, y, optimizer, loss_fn, epochs),
# tesla.automl(df, "y", time_budget=60)
_SUBMODULES = ("automl", "data", "datasets", "errors", "loss", "metrics", "models", "nn", "optim", "store", "tn",
               "train", "utils", "workflow")
# public name -> the module that defines it
_NAMES = {
    "TeslaError": "tesla_lab.errors",
    "ModelBundle": "tesla_lab.models", "load_bundle": "tesla_lab.models", "make_model": "tesla_lab.models",
    "Sequential": "tesla_lab.nn", "TensorNetwork": "tesla_lab.nn", "TTLinear": "tesla_lab.nn",
    "build_model": "tesla_lab.nn", "compress": "tesla_lab.nn",
    "Project": "tesla_lab.store",
    "Trainer": "tesla_lab.train", "evaluate": "tesla_lab.train", "predict": "tesla_lab.train",
    "TrainConfig": "tesla_lab.workflow", "deploy_model": "tesla_lab.workflow", "evaluate_model": "tesla_lab.workflow",
    "train_model": "tesla_lab.workflow",
    "launch": "tesla_lab.train.launch",
}
# loaded on demand only (not in __all__): they import Panel / papermill / Keras, which plain training does not need
_EXTRA = {"ui": "tesla_lab.ui", "batch": "tesla_lab.jobs.notebooks", "keras": "tesla_lab.keras"}

__all__ = [
    "automl", "data", "datasets", "errors", "loss", "metrics", "models", "nn", "optim", "store", "tn", "train",
    "utils", "workflow",
    "Project", "TrainConfig", "train_model", "evaluate_model", "deploy_model", "make_model", "ModelBundle",
    "load_bundle",
    "TeslaError", "Sequential", "TensorNetwork", "TTLinear", "build_model", "compress",
    "Trainer", "evaluate", "predict", "launch",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        value: Any = importlib.import_module(f"tesla_lab.{name}")
    elif name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
    elif name in _EXTRA:
        return importlib.import_module(_EXTRA[name])
    else:
        raise AttributeError(f"module 'tesla_lab' has no attribute {name!r}")
    globals()[name] = value  # next time: a plain attribute
    return value


def __dir__() -> list[str]:
    # not the _EXTRA names: tools that getattr every name dir() lists (pytest's fixture scan, IDEs) would import
    # Keras/TensorFlow, Panel and papermill into a process that never asked for them
    return sorted(set(globals()) | set(__all__))
