"""Model parallelism by layer: FSDP on the blocks marked :class:`~tesla_lab.nn.parallel.ModelParallel`, DDP on
the rest (``Trainer(strategy='model_parallel')``; what ``TensorNetwork.add_layer(..., model_parallel=True)`` uses
when the script runs as several processes).

Each marked block is sharded with ``fully_shard`` (FSDP2): every rank stores ``1/world_size`` of each of its
parameters, split along the parameter's LARGEST dimension (FSDP's default, dimension 0, would leave a TT core of
shape ``(1, n, m, r)`` whole on rank 0), all-gathers the full block just before its forward and again for its
backward, and reduce-scatters the block's gradients, so its gradients and optimizer state are sharded too. The
parameters outside the marked blocks are replicated and their gradients all-reduced by
``DistributedDataParallel`` (which is told to ignore the sharded ones). Batches are split over the ranks as under
DDP, so the result matches one process with the same global ``batch_size`` (up to float rounding).

As with :class:`~tesla_lab.train.distributed.FSDPStrategy` (whose checkpointing and hand-back it inherits): the
user's model stays a plain module and receives the trained weights at the end of ``fit``; checkpoints hold the
full gathered state; the optimizer is built on the sharded parameters, so it is given by name or class; fp16 loss
scaling is not supported (use bf16).

>>> ModelParallelStrategy().name
'model_parallel'
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.distributed as dist

from tesla_lab.errors import ConfigError
from tesla_lab.nn.parallel import ModelParallel
from tesla_lab.train.distributed.fsdp import FSDPStrategy

__all__ = ["ModelParallelStrategy", "sharded_blocks", "local_numel"]


def sharded_blocks(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """The ``(name, module)`` pairs of the outermost :class:`ModelParallel` blocks of ``model``.

    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 2), ModelParallel(torch.nn.Linear(2, 2)))
    >>> [name for name, _ in sharded_blocks(net)]
    ['1']
    """
    found: list[tuple[str, torch.nn.Module]] = []
    for name, module in model.named_modules():
        if isinstance(module, ModelParallel) and not any(name.startswith(f"{n}.") for n, _ in found):
            found.append((name, module))
    return found


def local_numel(module: torch.nn.Module) -> int:
    """Parameter elements this process stores for ``module``: its shard of sharded (DTensor) parameters, all of
    the others.

    >>> local_numel(torch.nn.Linear(3, 2))
    8
    """
    from torch.distributed.tensor import DTensor

    return sum(p.to_local().numel() if isinstance(p, DTensor) else p.numel() for p in module.parameters())


def _largest_dim(param: torch.Tensor) -> Any:
    from torch.distributed.tensor import Shard

    return Shard(max(range(param.ndim), key=lambda d: param.shape[d]) if param.ndim else 0)


class ModelParallelStrategy(FSDPStrategy):
    """FSDP on the :class:`ModelParallel` blocks, DDP on the rest (see the module docstring).

    Args:
        reshard_after_forward: free a block's gathered parameters after its forward (less memory, one more
            all-gather in backward).
        sync_stop_every, backend, timeout_s: as for :class:`~tesla_lab.train.distributed.DDPStrategy`.

    >>> ModelParallelStrategy(sync_stop_every=5)
    ModelParallelStrategy(sync_stop_every=5, reshard_after_forward=True, backend=None)
    """

    name = "model_parallel"
    _repr_keys = ("reshard_after_forward", "backend")

    def __init__(self, *, reshard_after_forward: bool = True, sync_stop_every: int | None = 20,
                 backend: str | None = None, timeout_s: float | None = None) -> None:
        super().__init__(reshard_after_forward=reshard_after_forward, sync_stop_every=sync_stop_every,
                         backend=backend, timeout_s=timeout_s)

    def wrap(self, model: torch.nn.Module, device: torch.device) -> tuple[torch.nn.Module, torch.nn.Module]:
        from torch.distributed.device_mesh import init_device_mesh
        from torch.distributed.fsdp import fully_shard
        from torch.nn.parallel import DistributedDataParallel

        blocks = sharded_blocks(model)
        if not blocks:
            raise ConfigError(
                "strategy='model_parallel' shards the blocks marked ModelParallel, but this model has none; mark a "
                "layer with TensorNetwork.add_layer(..., model_parallel=True) or wrap it in "
                "tesla_lab.nn.ModelParallel, or use strategy='ddp' / 'fsdp'"
            )
        sharded = copy.deepcopy(model)  # the user's model stays a plain module; it gets the weights in finish()
        with torch.no_grad():  # the same start weights everywhere (DDP would only sync the replicated part)
            for t in [*sharded.parameters(), *sharded.buffers()]:
                dist.broadcast(t.data, src=0, group=self._cpu if t.device.type == "cpu" else None)
        sharded.to(device)
        mesh = init_device_mesh(device.type, (self.world_size,))
        names = set()
        for name, _ in blocks:
            block = sharded.get_submodule(name)
            fully_shard(block, mesh=mesh, reshard_after_forward=self.reshard_after_forward,
                        shard_placement_fn=_largest_dim)
            names |= {f"{name}.{p}" for p, _ in block.named_parameters()}
        if not any(n not in names for n, p in sharded.named_parameters() if p.requires_grad):
            return sharded, sharded  # every trainable parameter is sharded: nothing left to replicate
        DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(sharded, sorted(names))
        kwargs: dict[str, Any] = {}
        if device.type == "cuda":
            kwargs.update(device_ids=[device.index], output_device=device.index)
        return DistributedDataParallel(sharded, **kwargs), sharded
