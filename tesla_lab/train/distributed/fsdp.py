"""FSDP: fully sharded data parallel (``Trainer(strategy='fsdp')``, ``torch.distributed.fsdp.fully_shard``):
parameters, gradients and optimizer state are sharded over the processes, for models whose training state does not
fit on one device. Checkpoints hold the full state, gathered to rank 0 and loadable in one process.

>>> FSDPStrategy(min_params=10, reshard_after_forward=False)
FSDPStrategy(sync_stop_every=20, min_params=10, reshard_after_forward=False, backend=None)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import torch
import torch.distributed as dist

from tesla_lab.errors import ConfigError
from tesla_lab.train.distributed.collectives import _Distributed

__all__ = ["FSDPStrategy"]


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
