"""TESLA Lab: tensor-network (tensor-train) neural networks on PyTorch, with a Keras-like API.

>>> import tesla_lab as tesla
>>> model = tesla.TensorNetwork(input_dim=64, hidden_dim=32, output_dim=10, tt_rank=4)
>>> model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])  # doctest: +ELLIPSIS
TensorNetwork(...)
"""

# `train` and `automl` are packages that are also callable: tesla.train(model, X, y, optimizer, loss_fn, epochs),
# tesla.automl(df, "y", time_budget=60)
from tesla_lab import automl, data, errors, loss, metrics, models, nn, optim, store, tn, train, utils, workflow
from tesla_lab.errors import TeslaError
from tesla_lab.models import ModelBundle, load_bundle, make_model
from tesla_lab.nn import Sequential, TensorNetwork, TTLinear, build_model, compress
from tesla_lab.store import Project
from tesla_lab.train import Trainer, evaluate, predict
from tesla_lab.train.launch import launch
from tesla_lab.workflow import TrainConfig, deploy_model, evaluate_model, train_model

__all__ = [
    "automl", "data", "errors", "loss", "metrics", "models", "nn", "optim", "store", "tn", "train", "utils", "workflow",
    "Project", "TrainConfig", "train_model", "evaluate_model", "deploy_model", "make_model", "ModelBundle",
    "load_bundle",
    "TeslaError", "Sequential", "TensorNetwork", "TTLinear", "build_model", "compress",
    "Trainer", "evaluate", "predict", "launch",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``tesla.ui`` (widgets, dashboard) and ``tesla.batch`` (papermill runs) load on first use: they import
    Panel / papermill, which plain training does not need."""
    import importlib

    targets = {"ui": "tesla_lab.ui", "batch": "tesla_lab.jobs.notebooks"}
    if name in targets:
        return importlib.import_module(targets[name])
    raise AttributeError(f"module 'tesla_lab' has no attribute {name!r}")
