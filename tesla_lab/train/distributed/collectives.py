"""What the multi-process strategies (DDP, FSDP, model parallel) share: joining the process group with one device
per rank, adding the epoch's metric sums over the ranks, and combining the stop flag.

:class:`_Distributed` is their base class; each process of the job runs it, started by torchrun.
:meth:`~_Distributed.reduce_sums` adds loss and metric sums and counts with ONE ``all_reduce`` per epoch, so every
process logs the same global values; :meth:`~_Distributed.any_stop` combines the stop flag over a CPU (gloo)
channel that never waits for the GPU.

>>> _Distributed(backend="tcp")
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: backend must be None (NCCL on GPU, gloo on CPU), 'nccl' or 'gloo'; got 'tcp'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch
import torch.distributed as dist

from tesla_lab.errors import ConfigError
from tesla_lab.train.distributed.process_group import (
    DistEnv,
    _cpu_group,
    _init_owned_group,
    _rank_device,
    distributed_env,
)
from tesla_lab.train.distributed.strategy import Strategy
from tesla_lab.train.launch import dist_timeout_from_env

__all__: list[str] = []  # the base class of DDPStrategy and FSDPStrategy; not used on its own

_LAUNCH_HINT = ("launch one process per device: `tesla train --nproc N ...`, `torchrun --nproc-per-node N "
                "script.py`, or launch('script.py', nproc=N) from tesla_lab.train.launch")


class _Distributed(Strategy):
    """What DDP and FSDP share: the process group, the device per rank, reductions and the stop flag."""

    is_distributed = True

    def __init__(self, *, sync_stop_every: int | None = 20, backend: str | None = None,
                 timeout_s: float | None = None) -> None:
        super().__init__()
        if sync_stop_every is not None and (isinstance(sync_stop_every, bool) or not isinstance(sync_stop_every, int)
                                            or sync_stop_every < 1):
            raise ConfigError("sync_stop_every must be an integer >= 1 (steps between stop-flag checks) or None "
                              f"(only at epoch ends); got {sync_stop_every!r}")
        if backend is not None and backend not in ("nccl", "gloo", "mpi", "xccl", "ucc"):
            raise ConfigError(f"backend must be None (NCCL on GPU, gloo on CPU), 'nccl' or 'gloo'; got {backend!r}")
        self.sync_stop_every = sync_stop_every
        self.backend = backend
        self.timeout_s = timeout_s
        self.created_group = False

    def setup(self, device_arg: Any) -> torch.device:
        env = distributed_env()
        if env is None:
            if dist.is_available() and dist.is_initialized():  # a script that set up its own group (e.g. mp.spawn)
                env = DistEnv(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
            else:
                raise ConfigError(
                    f"strategy={self.name!r} runs one process per device, but this process was not started by "
                    f"torchrun (RANK and WORLD_SIZE are not set); {_LAUNCH_HINT}. In one process use "
                    "strategy='single'"
                )
        if not dist.is_available():
            raise ConfigError(f"strategy={self.name!r} needs torch.distributed, which this torch build lacks")
        device = _rank_device(device_arg, env.local_rank)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        if not dist.is_initialized():
            backend = self.backend or ("nccl" if device.type == "cuda" else "gloo")
            timeout_s = self.timeout_s if self.timeout_s is not None else dist_timeout_from_env()
            _init_owned_group(backend, device, timeout_s)
            self.created_group = True
        self.rank, self.world_size, self.local_rank = dist.get_rank(), dist.get_world_size(), env.local_rank
        self.device = device
        self._cpu = _cpu_group()
        return device

    def reduce_sums(self, pairs: Sequence[tuple[torch.Tensor, int]]) -> list[tuple[float, int]]:
        device = pairs[0][0].device
        sums = torch.stack([s.detach().to(device, torch.float64).reshape(()) for s, _ in pairs])  # (k,)
        counts = torch.tensor([float(c) for _, c in pairs], dtype=torch.float64).to(device)  # (k,)
        flat = torch.cat([sums, counts])  # (2k,)
        dist.all_reduce(flat)  # sums and counts added over the ranks, on the device's own backend
        host = flat.tolist()  # the ONE device-to-host copy of the epoch
        k = len(pairs)
        return [(host[i], int(round(host[k + i]))) for i in range(k)]

    def any_stop(self, flag: bool) -> bool:
        t = torch.tensor([1 if flag else 0], dtype=torch.int32)  # CPU tensor over gloo: no GPU synchronisation
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self._cpu)
        return bool(t.item())

    def broadcast_int(self, value: int) -> int:
        t = torch.tensor([int(value)], dtype=torch.int64)
        dist.broadcast(t, src=0, group=self._cpu)
        return int(t.item())

    def barrier(self) -> None:
        dist.barrier(group=self._cpu)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(sync_stop_every={self.sync_stop_every}, "
                + ", ".join(f"{k}={getattr(self, k)!r}" for k in self._repr_keys) + ")")

    _repr_keys: tuple[str, ...] = ("backend",)
