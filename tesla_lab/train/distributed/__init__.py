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
  package created is destroyed when the process exits, so several ``fit`` calls in one script share it (torchrun
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

The package, one concept per module: :mod:`~.strategy` (the interface the trainer drives), :mod:`~.process_group`
(torchrun placement, device per rank, the group's lifetime), :mod:`~.collectives` (what the multi-process
strategies share), :mod:`~.ddp`, :mod:`~.fsdp`, and :mod:`~.registry` (strategies by name, ``'auto'``).

>>> get_strategy("ddp")
DDPStrategy(sync_stop_every=20, find_unused_parameters=False, static_graph=False, backend=None)
>>> resolve_strategy("auto", environ={}).name
'single'
>>> resolve_strategy("auto", environ={"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0"}).name
'ddp'
"""

# private helpers stay importable from here, where they used to live (tests import _rank_device)
from tesla_lab.train.distributed.collectives import _Distributed  # noqa: F401
from tesla_lab.train.distributed.ddp import DDPStrategy
from tesla_lab.train.distributed.fsdp import FSDPStrategy, _gather_dtensors, _Holder  # noqa: F401
from tesla_lab.train.distributed.process_group import (  # noqa: F401
    DistEnv,
    _cpu_group,
    _rank_device,
    distributed_env,
)
from tesla_lab.train.distributed.registry import STRATEGIES, get_strategy, resolve_strategy
from tesla_lab.train.distributed.strategy import SingleProcess, Strategy

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
