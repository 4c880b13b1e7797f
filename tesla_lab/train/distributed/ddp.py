"""DDP: ``torch.nn.parallel.DistributedDataParallel`` (``Trainer(strategy='ddp')``): every process holds the whole
model and gradients are averaged during ``backward``.

>>> DDPStrategy(static_graph=True)
DDPStrategy(sync_stop_every=20, find_unused_parameters=False, static_graph=True, backend=None)
"""

from __future__ import annotations

from typing import Any

import torch

from tesla_lab.train.distributed.collectives import _Distributed

__all__ = ["DDPStrategy"]


class DDPStrategy(_Distributed):
    """``torch.nn.parallel.DistributedDataParallel``: every process holds the whole model; gradients are averaged
    during ``backward``.

    Args:
        sync_stop_every: combine the stop flag over the processes every this many steps (and after each epoch's
            callbacks); ``None`` only after each epoch. Each check is one tiny CPU all-reduce.
        find_unused_parameters / static_graph: passed to DistributedDataParallel (models whose forward skips
            some parameters need ``find_unused_parameters=True``).
        backend: ``None`` picks NCCL on GPUs and gloo on CPU.
        timeout_s: collective timeout in seconds when this strategy creates the process group (default: the
            ``TESLA_DIST_TIMEOUT`` environment variable ``tesla train --dist-timeout`` sets, else torch's).

    >>> DDPStrategy(sync_stop_every=0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: sync_stop_every must be an integer >= 1 (steps between stop-flag checks) or None \
(only at epoch ends); got 0
    """

    name = "ddp"
    _repr_keys = ("find_unused_parameters", "static_graph", "backend")

    def __init__(self, *, sync_stop_every: int | None = 20, find_unused_parameters: bool = False,
                 static_graph: bool = False, backend: str | None = None, timeout_s: float | None = None) -> None:
        super().__init__(sync_stop_every=sync_stop_every, backend=backend, timeout_s=timeout_s)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.static_graph = bool(static_graph)

    def wrap(self, model: torch.nn.Module, device: torch.device) -> tuple[torch.nn.Module, torch.nn.Module]:
        from torch.nn.parallel import DistributedDataParallel

        # DDP broadcasts rank 0's parameters and buffers here, so every rank starts from the same weights
        kwargs: dict[str, Any] = {"find_unused_parameters": self.find_unused_parameters,
                                  "static_graph": self.static_graph}
        if device.type == "cuda":
            kwargs.update(device_ids=[device.index], output_device=device.index)
        return DistributedDataParallel(model, **kwargs), model
