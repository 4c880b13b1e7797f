"""Optimizers: PyTorch's own, plus look-up by name for configs (``compile(optimizer='adam')``).

>>> import torch, tesla_lab as tesla
>>> model = torch.nn.Linear(3, 1)
>>> opt = tesla.optim.get_optimizer("adamw", model.parameters(), lr=1e-3)
>>> type(opt).__name__, opt.defaults["lr"]
('AdamW', 0.001)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Optimizer", "OPTIMIZERS", "get_optimizer"]

OPTIMIZERS: Registry[Optimizer] = Registry("optimizer")
OPTIMIZERS.register("sgd", SGD)
OPTIMIZERS.register("adam", Adam)
OPTIMIZERS.register("adamw", AdamW, "adam_w")
OPTIMIZERS.register("rmsprop", RMSprop)
OPTIMIZERS.register("adagrad", Adagrad)

_DEFAULT_LR = {"sgd": 0.01, "rmsprop": 0.001, "adagrad": 0.01}


def get_optimizer(
    optimizer: str | Optimizer | type[Optimizer],
    params: Iterable[torch.nn.Parameter] | Iterable[dict[str, Any]],
    *,
    lr: float | None = None,
    **kwargs: Any,
) -> Optimizer:
    """Build an optimizer from a name (``'sgd' | 'adam' | 'adamw' | 'rmsprop' | 'adagrad'``) or a class;
    an optimizer instance is returned as it is.

    >>> get_optimizer("adamm", [torch.nn.Parameter(torch.zeros(1))])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown optimizer 'adamm' (did you mean 'adam'?); choose one of: adagrad, adam, \
adam_w, adamw, rmsprop, sgd
    """
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        cls: Any = optimizer
        name = optimizer.__name__.lower()
    else:
        cls = OPTIMIZERS.get(optimizer)  # type: ignore[arg-type]
        name = str(optimizer).lower()
    if lr is None:
        lr = _DEFAULT_LR.get(name, 1e-3)
    if not lr > 0:
        raise ConfigError(f"learning rate must be > 0; got lr={lr!r}. Typical values: 1e-3 (Adam), 1e-2 (SGD)")
    return cls(params, lr=lr, **kwargs)
