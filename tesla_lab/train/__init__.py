"""Training: Trainer (fit / evaluate / predict), callbacks, checkpoints, mixed precision, streaming metrics.

The package itself is callable, so ``tesla.train(model, X, y, optimizer, loss_fn, epochs)`` runs
:func:`tesla_lab.train.api.train` while ``tesla.train.Trainer`` & co. stay reachable (re-exporting the function
``train`` as ``tesla_lab.train`` would shadow this package).

>>> import torch, tesla_lab
>>> import tesla_lab.train
>>> h = tesla_lab.train(torch.nn.Linear(2, 1), torch.randn(16, 2), torch.randn(16), "adam", "mse", 2, device="cpu")
>>> h.epoch, tesla_lab.train.Trainer.__name__
([0, 1], 'Trainer')
"""

import sys
import types
from typing import Any

from tesla_lab.train.api import evaluate, predict, train
from tesla_lab.train.callbacks import Callback, EarlyStopping, History, LambdaCallback, ModelCheckpoint, ProgressBar
from tesla_lab.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from tesla_lab.train.signals import StopOnSignal
from tesla_lab.train.trainer import Trainer

__all__ = [
    "Trainer",
    "train",
    "evaluate",
    "predict",
    "History",
    "Callback",
    "EarlyStopping",
    "ModelCheckpoint",
    "ProgressBar",
    "LambdaCallback",
    "StopOnSignal",
    "save_checkpoint",
    "load_checkpoint",
    "latest_checkpoint",
]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> History:
        return train(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
