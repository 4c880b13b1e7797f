"""The interface :class:`~tesla_lab.train.Trainer` drives: :class:`Strategy` places, wraps and synchronises the
model; :class:`SingleProcess` is the one-process strategy whose hooks do nothing.

The trainer calls, in order: :meth:`Strategy.setup` (device), :meth:`Strategy.wrap` (the module to train), then per
epoch :meth:`Strategy.reduce_sums` and :meth:`Strategy.any_stop`, and :meth:`Strategy.finish` at the end.

>>> import torch
>>> SingleProcess().reduce_sums([(torch.tensor(3.0), 2)])
[(3.0, 2)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["Strategy", "SingleProcess"]


class Strategy:
    """How the trainer places, wraps and synchronises the model. This base class is one process (no-ops).

    Subclasses are the distributed strategies; the trainer calls, in order: :meth:`setup` (device), :meth:`wrap`
    (the module to train), then per epoch :meth:`reduce_sums` and :meth:`any_stop`, and :meth:`finish` at the end.

    >>> s = SingleProcess(); s.setup("cpu") is None, s.is_distributed, s.rank, s.world_size
    (True, False, 0, 1)
    """

    name = "single"
    is_distributed = False
    shards_parameters = False  # FSDP: the optimizer must be built on the sharded module, state gathered to save
    sync_stop_every: int | None = None

    def __init__(self) -> None:
        self.rank = 0
        self.world_size = 1
        self.local_rank = 0
        self.device: torch.device | None = None

    @property
    def is_global_zero(self) -> bool:
        """True on the process that writes checkpoints and logs (rank 0)."""
        return self.rank == 0

    def setup(self, device_arg: Any) -> torch.device | None:
        """Prepare the process (group); return the device this process must use, or ``None`` to let the trainer
        resolve ``device_arg`` as usual."""
        return None

    def wrap(self, model: torch.nn.Module, device: torch.device) -> tuple[torch.nn.Module, torch.nn.Module]:
        """Return ``(module to call in the training step, module the callbacks, evaluation and optimizer see)``."""
        return model, model

    def finish(self, trained: torch.nn.Module, model: torch.nn.Module) -> None:
        """After training: put the trained weights into the user's ``model`` (FSDP trained a sharded copy)."""

    def reduce_sums(self, pairs: Sequence[tuple[torch.Tensor, int]]) -> list[tuple[float, int]]:
        """Add ``(running sum, count)`` pairs over the processes: ONE collective and ONE device-to-host copy."""
        stacked = torch.stack([s.detach().to(torch.float64).reshape(()) for s, _ in pairs]).tolist()
        return [(float(v), int(c)) for v, (_, c) in zip(stacked, pairs)]

    def any_stop(self, flag: bool) -> bool:
        """True when any process asks to stop (one process: its own flag)."""
        return bool(flag)

    def broadcast_int(self, value: int) -> int:
        """Rank 0's ``value`` on every process."""
        return int(value)

    def barrier(self) -> None:
        """Wait for every process."""

    def state_for_checkpoint(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                             extra: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
        """What to save: ``(model or an object with state_dict(), optimizer or such an object, extra)``.
        Collective under FSDP (every rank calls it; rank 0 gets the full states)."""
        return model, optimizer, extra

    def load_checkpoint_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                              ckpt: Mapping[str, Any]) -> None:
        """Load a checkpoint's model/optimizer state (read on every rank) into the trained module."""
        raise NotImplementedError  # single process and DDP load through tesla_lab.train.load_checkpoint

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SingleProcess(Strategy):
    """One process on one device (what ``strategy='single'`` and, outside torchrun, ``'auto'`` give).

    >>> SingleProcess().name
    'single'
    """
