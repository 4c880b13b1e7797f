"""Where this process sits in a torchrun job and the process group it joins: the torchrun variables
(:func:`distributed_env`), the device each rank uses, and the lifetime of the group this package creates.

A group created here is destroyed when the process exits, so several ``fit`` calls in one script share it (torchrun
cannot re-create a process group in the same process). Small control messages (the stop flag, a seed) travel over a
gloo side channel on the CPU, so they never wait for a GPU stream.

>>> distributed_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}).is_global_zero
False
"""

from __future__ import annotations

import atexit
import datetime
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from tesla_lab.errors import ConfigError

__all__ = ["DistEnv", "distributed_env"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistEnv:
    """Where this process sits in a torchrun job (read from ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``).

    >>> DistEnv(rank=1, world_size=2, local_rank=1).is_global_zero
    False
    """

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_global_zero(self) -> bool:
        return self.rank == 0


def distributed_env(environ: Mapping[str, str] | None = None) -> DistEnv | None:
    """The torchrun placement of this process, or ``None`` when it was not started by torchrun.

    >>> distributed_env({}) is None
    True
    >>> distributed_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    DistEnv(rank=3, world_size=4, local_rank=1)
    >>> distributed_env({"RANK": "0", "WORLD_SIZE": "two", "LOCAL_RANK": "0"})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: torchrun variables must be integers with 0 <= RANK < WORLD_SIZE; got RANK='0', \
WORLD_SIZE='two', LOCAL_RANK='0'
    """
    env = os.environ if environ is None else environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return None
    raw = {k: env.get(k, "0") for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    try:
        rank, world, local = (int(raw[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    except ValueError:
        rank, world, local = -1, 0, -1
    if not (0 <= rank < world and local >= 0):
        shown = ", ".join(f"{k}={v!r}" for k, v in raw.items())
        raise ConfigError(f"torchrun variables must be integers with 0 <= RANK < WORLD_SIZE; got {shown}")
    return DistEnv(rank, world, local)


def _rank_device(device_arg: Any, local_rank: int) -> torch.device:
    """``cuda:LOCAL_RANK`` (or ``cuda:0`` when each process sees one device), or CPU."""
    arg = "auto" if device_arg is None else str(device_arg).strip().lower()
    if arg == "cpu":
        return torch.device("cpu")
    if arg not in ("auto", "cuda"):
        raise ConfigError(
            f"in a distributed run each process picks its own device (cuda:LOCAL_RANK); device must be 'auto', "
            f"'cuda' or 'cpu'; got {device_arg!r}. Choose the GPUs with CUDA_VISIBLE_DEVICES instead"
        )
    if not torch.cuda.is_available():
        if arg == "cuda":
            raise ConfigError("device='cuda' but CUDA is not available in this process; use device='auto' or 'cpu'")
        return torch.device("cpu")
    count = torch.cuda.device_count()
    if local_rank < count:
        return torch.device("cuda", local_rank)
    if count == 1:  # the launcher gave each process one device through CUDA_VISIBLE_DEVICES
        return torch.device("cuda", 0)
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "(not set)")
    raise ConfigError(
        f"LOCAL_RANK={local_rank} but only {count} CUDA devices are visible (CUDA_VISIBLE_DEVICES={visible}); start "
        f"at most {count} processes per node (--nproc {count})"
    )


# the process group this module created (destroyed at exit) and its CPU side channel
_OWNED_GROUP = False
_CPU_GROUPS: dict[int, Any] = {}


def _destroy_owned_group() -> None:
    global _OWNED_GROUP
    if _OWNED_GROUP and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _OWNED_GROUP = False
    _CPU_GROUPS.clear()


def _init_owned_group(backend: str, device: torch.device, timeout_s: float | None) -> None:
    """Initialise the default process group (destroyed at exit): ``timeout_s`` bounds each collective, NCCL is bound
    to ``device`` at once."""
    global _OWNED_GROUP
    kwargs: dict[str, Any] = {}
    # a lost peer (a node that died) fails the collectives after this long instead of torch's 30 min
    if timeout_s is not None:
        kwargs["timeout"] = datetime.timedelta(seconds=float(timeout_s))
    if device.type == "cuda" and backend == "nccl":
        kwargs["device_id"] = device  # bind NCCL to this rank's device now
    dist.init_process_group(backend=backend, **kwargs)
    if not _OWNED_GROUP:
        atexit.register(_destroy_owned_group)
    _OWNED_GROUP = True
    logger.info("rank %d/%d: process group initialised (%s) on %s", dist.get_rank(), dist.get_world_size(),
                backend, device)


def _cpu_group() -> Any:
    """A gloo group for small control messages (stop flag, seed): they never enter a GPU stream. ``None`` means
    the default group, which is gloo already."""
    default = dist.group.WORLD
    key = id(default)
    if key not in _CPU_GROUPS:
        _CPU_GROUPS[key] = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
    return _CPU_GROUPS[key]
