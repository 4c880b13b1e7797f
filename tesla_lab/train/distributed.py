"""Data-parallel training over several processes: the strategies :class:`~tesla_lab.train.Trainer` delegates to.

``Trainer(strategy=...)`` takes:

* ``'auto'`` / ``None`` (default): DDP when the process was started by torchrun with ``WORLD_SIZE > 1``, else one
  process. A plain script therefore trains on one device, and the same script run with ``tesla train --nproc N``
  or ``torchrun --nproc-per-node N script.py`` trains data-parallel without an edit.
* ``'single'``: one process, even under torchrun.
* ``'ddp'`` / :class:`DDPStrategy`: ``DistributedDataParallel``; one process per device, started by torchrun.
* ``'fsdp'`` / :class:`FSDPStrategy`: ``fully_shard`` (FSDP2); parameters, gradients and optimizer state are
  sharded over the processes, for models whose training state does not fit on one device.
* ``'model_parallel'`` / :class:`~tesla_lab.train.model_parallel.ModelParallelStrategy`: FSDP on the blocks marked
  :class:`~tesla_lab.nn.parallel.ModelParallel` (``TensorNetwork.add_layer(..., model_parallel=True)``), DDP on
  the rest.

What a distributed ``fit`` does (each process runs the same script):

* **Process group.** Initialised from the torchrun environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) unless
  the script already did it: NCCL on GPUs, gloo on CPU. Each process uses ``cuda:LOCAL_RANK`` (indices count the
  devices ``CUDA_VISIBLE_DEVICES`` leaves visible; with one visible device per process, ``cuda:0``). A group this
  module created is destroyed when the process exits, so several ``fit`` calls in one script share it (torchrun
  cannot re-create a process group in the same process).
* **Batches.** ``batch_size`` is the GLOBAL batch: one optimizer step sees ``batch_size`` samples in total, as in
  one process. Every process draws the same permutation each epoch (same seed everywhere) and takes its own
  disjoint slice of each global batch, about ``batch_size / world_size`` samples, gathered on its device as in one
  process. When a batch does not split evenly, each process scales its loss by its share, so the averaged gradient
  is exactly the one-process gradient of the whole batch: N processes reach the same weights as one process with
  the same ``batch_size`` (up to float rounding). Raise ``batch_size`` with the process count to keep each device
  busy (and scale ``lr`` with it if you do).
* **Metrics.** Loss and metric sums and counts are added over the processes with ONE ``all_reduce`` per epoch,
  so every process logs the same global values.
* **Callbacks.** Only rank 0 runs callbacks with ``rank_zero_only = True`` (the progress bar; your own logging
  callbacks). The trainer writes checkpoints from rank 0 only; the checkpoints hold the plain (unwrapped) module's
  state, loadable in one process.
* **Stopping.** ``trainer.stop()`` on any rank (a callback on rank 0, the UI's stop flag, EarlyStopping) stops all
  ranks together: the flag is combined over the processes after the epoch's callbacks and every
  ``sync_stop_every`` steps within an epoch, over a CPU (gloo) channel that never waits for the GPU.

>>> get_strategy("ddp")
DDPStrategy(sync_stop_every=20, find_unused_parameters=False, static_graph=False, backend=None)
>>> resolve_strategy("auto", environ={}).name
'single'
>>> resolve_strategy("auto", environ={"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0"}).name
'ddp'
"""

from __future__ import annotations

import atexit
import copy
import datetime
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError
from tesla_lab.train.launch import dist_timeout_from_env

__all__ = [
    "Strategy",
    "SingleProcess",
    "DDPStrategy",
    "FSDPStrategy",
    "STRATEGIES",
    "DistEnv",
    "distributed_env",
    "get_strategy",
    "resolve_strategy",
]

logger = logging.getLogger(__name__)

_LAUNCH_HINT = ("launch one process per device: `tesla train --nproc N ...`, `torchrun --nproc-per-node N "
                "script.py`, or launch('script.py', nproc=N) from tesla_lab.train.launch")


# ------------------------------------------------------------------------------------------------ environment
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


def _cpu_group() -> Any:
    """A gloo group for small control messages (stop flag, seed): they never enter a GPU stream. ``None`` means
    the default group, which is gloo already."""
    default = dist.group.WORLD
    key = id(default)
    if key not in _CPU_GROUPS:
        _CPU_GROUPS[key] = None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
    return _CPU_GROUPS[key]


# ---------------------------------------------------------------------------------------------------- strategies
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
        global _OWNED_GROUP
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
            kwargs: dict[str, Any] = {}
            # a lost peer (a node that died) fails the collectives after this long instead of torch's 30 min
            timeout_s = self.timeout_s if self.timeout_s is not None else dist_timeout_from_env()
            if timeout_s is not None:
                kwargs["timeout"] = datetime.timedelta(seconds=float(timeout_s))
            if device.type == "cuda" and backend == "nccl":
                kwargs["device_id"] = device  # bind NCCL to this rank's device now
            dist.init_process_group(backend=backend, **kwargs)
            if not _OWNED_GROUP:
                atexit.register(_destroy_owned_group)
            _OWNED_GROUP = True
            self.created_group = True
            logger.info("rank %d/%d: process group initialised (%s) on %s", dist.get_rank(), dist.get_world_size(),
                        backend, device)
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


class _Holder:
    """Stands in for a module/optimizer in ``save_checkpoint``: its ``state_dict()`` is an already-gathered dict."""

    def __init__(self, state: dict[str, Any] | None) -> None:
        self._state = state

    def state_dict(self) -> dict[str, Any] | None:
        return self._state


class FSDPStrategy(_Distributed):
    """Fully sharded data parallel (``torch.distributed.fsdp.fully_shard``): parameters, gradients and optimizer
    state are split over the processes and gathered layer by layer during forward/backward.

    The model you pass stays where it was built (e.g. on the CPU); a copy of it is sharded onto the devices
    (each rank keeps ``1/world_size`` of every parameter), and at the end of ``fit`` the trained weights are
    copied back into your model on every rank. Checkpoints hold the full, unsharded state (gathered to rank 0),
    loadable in one process.

    Args:
        min_params: submodules with at least this many parameters (not counting already-sharded children)
            become their own FSDP unit, gathered one at a time; the root module is always one.
        reshard_after_forward: free gathered parameters after forward (less memory, one more all-gather in
            backward).
        sync_stop_every, backend, timeout_s: as for :class:`DDPStrategy`.

    Limitations: ``precision='fp16'`` (loss scaling of sharded gradients) is not supported, use ``'bf16'``; the
    optimizer must be given by name or class (it is built on the sharded parameters); lazily initialised layers
    must be initialised before ``fit``.

    >>> FSDPStrategy(min_params=1_000).min_params
    1000
    """

    name = "fsdp"
    shards_parameters = True
    _repr_keys = ("min_params", "reshard_after_forward", "backend")

    def __init__(self, *, min_params: int = 1_000_000, reshard_after_forward: bool = True,
                 sync_stop_every: int | None = 20, backend: str | None = None,
                 timeout_s: float | None = None) -> None:
        super().__init__(sync_stop_every=sync_stop_every, backend=backend, timeout_s=timeout_s)
        if isinstance(min_params, bool) or not isinstance(min_params, int) or min_params < 1:
            raise ConfigError(f"min_params must be an integer >= 1 (parameters per FSDP unit); got {min_params!r}")
        self.min_params = min_params
        self.reshard_after_forward = bool(reshard_after_forward)

    def _units(self, root: torch.nn.Module) -> list[torch.nn.Module]:
        """Submodules to shard as their own unit, children before parents (fully_shard works bottom-up)."""
        units: list[torch.nn.Module] = []
        seen: set[int] = set()

        def visit(module: torch.nn.Module) -> int:  # parameters of `module` not inside a unit already chosen
            if id(module) in seen:
                return 0
            seen.add(id(module))
            count = sum(p.numel() for p in module.parameters(recurse=False)) + sum(visit(c) for c in module.children())
            if module is not root and count >= self.min_params:
                units.append(module)
                return 0
            return count

        visit(root)
        return units

    def wrap(self, model: torch.nn.Module, device: torch.device) -> tuple[torch.nn.Module, torch.nn.Module]:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard

        sharded = copy.deepcopy(model)  # the user's model stays a plain module; it gets the weights in finish()
        with torch.no_grad():  # same start weights everywhere (fully_shard shards each rank's own copy)
            for t in [*sharded.parameters(), *sharded.buffers()]:
                dist.broadcast(t.data, src=0, group=self._cpu if t.device.type == "cpu" else None)
        mesh = init_device_mesh(device.type, (self.world_size,))
        for unit in self._units(sharded):
            fully_shard(unit, mesh=mesh, reshard_after_forward=self.reshard_after_forward)
        fully_shard(sharded, mesh=mesh, reshard_after_forward=self.reshard_after_forward)  # moves shards to device
        return sharded, sharded

    def finish(self, trained: torch.nn.Module, model: torch.nn.Module) -> None:
        from torch.distributed.tensor import DTensor

        target = model.state_dict(keep_vars=True)  # the live tensors (and the dense form of SparseLinear layers)
        with torch.no_grad():
            for name, value in trained.state_dict().items():  # same order on every rank: one all-gather each
                if isinstance(value, DTensor):
                    value = value.full_tensor()
                if name in target:
                    target[name].copy_(value)

    def state_for_checkpoint(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                             extra: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            get_model_state_dict,
            get_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)  # full tensors, on rank 0's CPU only
        model_state = get_model_state_dict(model, options=options)
        optim_state = get_optimizer_state_dict(model, optimizer, options=options) if optimizer is not None else None
        return _Holder(model_state), _Holder(optim_state), _gather_dtensors(extra)

    def load_checkpoint_state(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None,
                              ckpt: Mapping[str, Any]) -> None:
        from torch.distributed.checkpoint.state_dict import (
            StateDictOptions,
            set_model_state_dict,
            set_optimizer_state_dict,
        )

        options = StateDictOptions(full_state_dict=True)  # every rank read the full state; each keeps its shard
        set_model_state_dict(model, ckpt["model"], options=options)
        if optimizer is not None and ckpt.get("optimizer"):
            set_optimizer_state_dict(model, optimizer, ckpt["optimizer"], options=options)


def _gather_dtensors(obj: Any) -> Any:
    """Replace sharded tensors (e.g. EarlyStopping's best weights) by full CPU tensors; collective, same traversal
    order on every rank."""
    from torch.distributed.tensor import DTensor

    if isinstance(obj, DTensor):
        return obj.full_tensor().cpu()
    if isinstance(obj, dict):
        return {k: _gather_dtensors(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_gather_dtensors(v) for v in obj)
    return obj


# ------------------------------------------------------------------------------------------------------ look-up
STRATEGIES: Registry[Strategy] = Registry("strategy")
STRATEGIES.register("single", SingleProcess, "none", "single_device")
STRATEGIES.register("ddp", DDPStrategy)
STRATEGIES.register("fsdp", FSDPStrategy)


def _model_parallel() -> Strategy:
    from tesla_lab.train.model_parallel import ModelParallelStrategy  # it builds on FSDPStrategy above

    return ModelParallelStrategy()


STRATEGIES.register("model_parallel", _model_parallel, "layer_parallel")
STRATEGIES.register("auto", lambda: None)  # resolved from the environment by resolve_strategy


def get_strategy(strategy: str | Strategy | None) -> Strategy | None:
    """The :class:`Strategy` named by ``strategy`` (``None`` for ``'auto'``/``None``, decided at ``fit``).

    >>> get_strategy("fsdp").name, get_strategy(None)
    ('fsdp', None)
    >>> get_strategy("dpp")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown strategy 'dpp' (did you mean 'ddp'?); choose one of: auto, ddp, fsdp, \
layer_parallel, model_parallel, none, single, single_device
    """
    if strategy is None or isinstance(strategy, Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise ConfigError(f"strategy must be a name ('auto', 'single', 'ddp', 'fsdp', 'model_parallel') or a "
                          f"Strategy; got {type(strategy).__name__} {strategy!r}")
    return STRATEGIES.get(strategy)()


def resolve_strategy(strategy: str | Strategy | None, environ: Mapping[str, str] | None = None) -> Strategy:
    """The strategy one ``fit`` uses: ``'auto'``/``None`` become DDP under torchrun with ``WORLD_SIZE > 1``
    and one process otherwise; a name gives a fresh strategy object, a :class:`Strategy` itself.

    >>> resolve_strategy(None, environ={"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}).name
    'single'
    """
    chosen = get_strategy(strategy)
    if chosen is not None:
        return chosen
    env = distributed_env(environ)
    return DDPStrategy() if env is not None and env.world_size > 1 else SingleProcess()
