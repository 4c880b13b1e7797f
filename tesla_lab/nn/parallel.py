"""The parallelism flags of :meth:`TensorNetwork.add_layer <tesla_lab.nn.TensorNetwork.add_layer>`.

* ``data_parallel=True`` (on any layer) makes the whole network data-parallel: when the script runs as several
  processes (``tesla.launch('script.py', nproc=N)``, ``tesla train --nproc N`` or ``torchrun --nproc-per-node N``)
  ``fit`` trains with ``DistributedDataParallel``, one process per device (``cuda:LOCAL_RANK``; ``nproc='gpu'``
  starts one per visible GPU, gloo on CPUs). Every process holds the whole network and sees its own slice of each
  global batch; the gradients are averaged, so N processes reach the weights of one process with the same
  ``batch_size``. A replica is a copy of the *whole* network, which is why the flag cannot apply to one layer only.
* ``model_parallel=True`` shards THAT layer's parameters over the processes: the block is wrapped in
  :class:`ModelParallel` and the strategy ``'model_parallel'``
  (:class:`~tesla_lab.train.model_parallel.ModelParallelStrategy`) applies FSDP (``fully_shard``) to it alone:
  each rank stores ``1/world_size`` of each of its parameters (split along the parameter's largest dimension,
  so TT cores of shape ``(1, n, m, r)`` split too), gathers the full layer just for its forward and backward, and
  keeps ``1/world_size`` of its gradients and optimizer state. The rest of the network is replicated with DDP.
  Training matches one process, like DDP.

In ONE process (a plain ``python script.py``, a notebook) both flags are inactive: the network trains normally on
one device and ``fit`` warns once per network that the flag waits for a multi-process launch.

>>> choose_strategy(data_parallel=True, model_parallel=False, world_size=4)
'ddp'
>>> choose_strategy(data_parallel=True, model_parallel=True, world_size=2)
'model_parallel'
>>> choose_strategy(data_parallel=True, model_parallel=False, world_size=1)
'single'
>>> choose_strategy(data_parallel=False, model_parallel=False, world_size=4) is None  # trainer's default
True
"""

from __future__ import annotations

import os
from typing import Any

import torch

from tesla_lab.nn.wrappers import Wrapper

__all__ = ["ModelParallel", "choose_strategy", "world_size", "inactive_message", "rebuildable_optimizer"]


class ModelParallel(Wrapper):
    """Marks ``module`` as a block whose parameters a distributed fit (strategy ``'model_parallel'``) shards over
    the processes; in one process (or any other strategy) it only calls ``module``.

    >>> import torch
    >>> block = ModelParallel(torch.nn.Linear(4, 2))
    >>> block(torch.ones(3, 4)).shape, block.out_features
    (torch.Size([3, 2]), 2)
    """


def world_size(environ: Any = None) -> int:
    """Processes in this job: ``WORLD_SIZE`` under torchrun, an initialised process group's size, else 1.

    >>> world_size({"RANK": "0", "WORLD_SIZE": "3"}), world_size({})
    (3, 1)
    """
    env = os.environ if environ is None else environ
    if "RANK" in env and "WORLD_SIZE" in env:
        try:
            return max(1, int(env["WORLD_SIZE"]))
        except ValueError:
            return 1  # the trainer reports malformed torchrun variables itself
    if environ is None and torch.distributed.is_available() and torch.distributed.is_initialized():
        return int(torch.distributed.get_world_size())
    return 1


def choose_strategy(data_parallel: bool, model_parallel: bool, world_size: int) -> str | None:
    """The trainer strategy a network with these flags uses: ``'model_parallel'`` or ``'ddp'`` with several
    processes, ``'single'`` in one, ``None`` (the trainer's ``'auto'``) without flags."""
    if not (data_parallel or model_parallel):
        return None
    if world_size > 1:
        return "model_parallel" if model_parallel else "ddp"
    return "single"


def inactive_message(flags: list[str], gpus: int | None = None) -> str:
    """Why the flags do nothing in this single process, and how to launch so that they do.

    >>> print(inactive_message(["data_parallel"], gpus=0))  # doctest: +ELLIPSIS
    data_parallel=True is inactive: this is one process, so the network trains on one device. ...
    """
    gpus = torch.cuda.device_count() if gpus is None else gpus
    what = " and ".join(f"{f}=True" for f in flags)
    verb = "is" if len(flags) == 1 else "are"
    devices = (f"one process per GPU ({gpus} visible): tesla.launch('script.py', nproc='gpu') or torchrun "
               f"--nproc-per-node {gpus} script.py" if gpus > 1 else
               "several processes: tesla.launch('script.py', nproc=N), `tesla train --nproc N` or torchrun "
               "--nproc-per-node N script.py (gloo on CPUs)")
    return (f"{what} {verb} inactive: this is one process, so the network trains on one device. To train in "
            f"parallel, run the same script as {devices}")


def rebuildable_optimizer(optimizer: torch.optim.Optimizer) -> type[torch.optim.Optimizer]:
    """A subclass of ``optimizer``'s class that builds the same optimizer (same hyper-parameters, e.g. ``lr`` and
    ``weight_decay``) on other parameters, ignoring the ``lr`` it is given: what a trainer that shards parameters
    before building its optimizer needs in place of an instance bound to the unsharded ones.

    >>> import torch
    >>> opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5, momentum=0.9)
    >>> cls = rebuildable_optimizer(opt)
    >>> new = cls([torch.nn.Parameter(torch.zeros(2))], lr=1e-3)
    >>> type(new).__name__, new.defaults["lr"], new.defaults["momentum"]
    ('SGD', 0.5, 0.9)
    """
    base = type(optimizer)
    hyper = {k: v for k, v in optimizer.param_groups[0].items() if k != "params" and k in optimizer.defaults}

    def __init__(self: Any, params: Any, lr: Any = None, **_: Any) -> None:
        base.__init__(self, params, **hyper)

    return type(base.__name__, (base,), {"__init__": __init__, "__module__": base.__module__})
