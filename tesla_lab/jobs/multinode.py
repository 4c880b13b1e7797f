"""Training on several processes and machines: ``tesla train`` run under torchrun on this node.

:func:`train_on_nodes` writes the training config to a temporary YAML file and runs ``python -m
torch.distributed.run ... -m tesla_lab.cli --project DIR train --config FILE -m NAME`` (an argument list, never a
shell string) through :func:`~tesla_lab.train.launch.launch`. Every process trains the same model on its share of
each batch (DDP; gloo on CPUs, NCCL on GPUs); global rank 0 alone records the run in the project store (metrics,
checkpoints, test metrics, registry), so every node needs the same project: a shared folder, or the PostgreSQL
store (``store: postgresql://...`` in ``tesla.yaml``).

Two machines, ``10.0.0.1`` hosting the rendezvous (start both within the rendezvous timeout, any order)::

    tesla train -m iris-mlp -d iris -p 20 --nodes 2 --node-rank 0 --master 10.0.0.1:29500   # on 10.0.0.1
    tesla train -m iris-mlp -d iris -p 20 --nodes 2 --node-rank 1 --master 10.0.0.1:29500   # on the other

A node lost mid-run makes the others fail after at most ``dist_timeout`` seconds (a collective that gets no
answer); rank 0 marks the run ``failed`` with the cause, its last checkpoint stays intact, and ``tesla train
--resume RUN_ID`` continues it in place: on one machine, or on several again (rank 0 reopens the run, the other
ranks read the same checkpoint and config; ``-p N`` raises the total epochs)::

    tesla train --resume RUN_ID --nodes 2 --node-rank 0 --master 10.0.0.1:29500   # on 10.0.0.1
    tesla train --resume RUN_ID --nodes 2 --node-rank 1 --master 10.0.0.1:29500   # on the other

>>> multinode_args("/p", name="m", config_file="/tmp/c.yaml", quiet=True)
['--project', '/p', 'train', '--config', '/tmp/c.yaml', '-m', 'm', '-q']
>>> train_on_nodes(".", {"epochs": 2}, name="m", nodes=2)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: nodes=2 needs master='HOST:PORT': the address of node 0 (which hosts the rendezvous) \
and a free port, the same on every node, e.g. master='10.0.0.1:29500'
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project
from tesla_lab.train.launch import LaunchResult, launch

__all__ = ["train_on_nodes", "multinode_args"]

logger = logging.getLogger(__name__)


def multinode_args(project_dir: str | os.PathLike[str], *, name: str | None = None, config_file: str | None = None,
                   resume: str | None = None, epochs: int | None = None, quiet: bool = True) -> list[str]:
    """The ``tesla`` arguments every process runs: ``train`` of ``config_file`` as model ``name``, or
    ``train --resume RUN_ID`` (``epochs``: the new total)."""
    args = ["--project", os.fspath(project_dir), "train"]
    if resume is not None:
        args += ["--resume", resume] + (["-p", str(epochs)] if epochs is not None else [])
    else:
        args += ["--config", str(config_file), "-m", str(name)]
    return args + (["-q"] if quiet else [])


def _check(nodes: Any, node_rank: Any, master: str | None, nproc: Any) -> None:
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise ConfigError(f"nodes must be an integer >= 1 (machines taking part); got {nodes!r}")
    if nodes > 1 and master is None:
        raise ConfigError(f"nodes={nodes} needs master='HOST:PORT': the address of node 0 (which hosts the "
                          "rendezvous) and a free port, the same on every node, e.g. master='10.0.0.1:29500'")
    if nodes > 1 and node_rank is None:
        raise ConfigError(f"nodes={nodes} needs node_rank: 0 on the machine whose address is master, 1..{nodes - 1} "
                          "on the others")
    if isinstance(nproc, bool) or not isinstance(nproc, int) or nproc < 1:
        raise ConfigError(f"nproc must be an integer >= 1 (processes per node: one per GPU, or a few CPU processes); "
                          f"got {nproc!r}")


def train_on_nodes(
    project: Project | str | os.PathLike[str],
    config: Any = None,
    *,
    name: str | None = None,
    resume: str | None = None,
    epochs: int | None = None,
    nproc: int = 1,
    nodes: int = 1,
    node_rank: int | None = None,
    master: str | None = None,
    rdzv_id: str = "tesla",
    dist_timeout: float | None = None,
    join_timeout: float | None = None,
    timeout: float | None = None,
    quiet: bool = True,
    env: Mapping[str, str] | None = None,
) -> LaunchResult:
    """Run this node's part of a distributed ``tesla train``: ``nproc`` processes here, ``nodes`` machines in all,
    meeting at the c10d rendezvous ``master`` (``'HOST:PORT'`` of node 0); raises
    :class:`~tesla_lab.errors.LaunchError` with the first failing rank's traceback when it fails.

    Args:
        project: the project (the same store on every node).
        config: a :class:`~tesla_lab.workflow.TrainConfig` or its dict (not with ``resume``).
        name: the model name (required unless ``resume``).
        resume: a run id to continue from its last checkpoint instead; ``epochs`` raises its total.
        nproc, nodes, node_rank, master: processes per node, machines, this machine's rank (0 hosts the
            rendezvous) and the rendezvous address. ``nodes=1`` without ``master``: a private rendezvous here.
        rdzv_id: the job id, the same on every node (several jobs may share one ``master`` with different ids).
        dist_timeout: seconds a collective waits for a lost peer before the run fails (default torch's 30 min).
        join_timeout: seconds to wait for every node at the rendezvous (default torchrun's 600).
        timeout: seconds before this node's processes are stopped.
        quiet: no progress bars.
        env: extra environment variables for the processes.
    """
    _check(nodes, node_rank, master, nproc)
    project_dir = project.path if isinstance(project, Project) else Path(project)
    config_file = None
    if resume is None:
        from tesla_lab.workflow import TrainConfig  # higher layer: imported where it is used

        if not name:
            raise ConfigError("train_on_nodes needs name= (the registry name of the model), or resume=RUN_ID")
        cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(dict(config or {}))
        if cfg.framework == "scikit-learn" or str(cfg.family or "").startswith("sklearn:"):
            raise ConfigError(f"{cfg.family or 'a scikit-learn model'} is fitted in one go by one process; "
                              "several processes or nodes train torch and tt models (data-parallel) only")
        fd, config_file = tempfile.mkstemp(prefix="tesla-train-", suffix=".yaml")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(cfg.to_yaml())
    elif config is not None:
        raise ConfigError("resume= continues a run with its own stored config; leave config= out")
    try:
        args = multinode_args(project_dir.resolve(), name=name, config_file=config_file, resume=resume,
                              epochs=epochs, quiet=quiet)
        logger.info("node %s of %d: %d process(es), rendezvous %s", node_rank if node_rank is not None else 0, nodes,
                    nproc, master or "(private)")
        return launch("tesla_lab.cli", args, module=True, nproc=nproc, nnodes=nodes, rdzv_endpoint=master,
                      rdzv_id=rdzv_id, node_rank=node_rank if nodes > 1 else None, env=env, timeout=timeout,
                      dist_timeout=dist_timeout, join_timeout=join_timeout, check=True)
    finally:
        if config_file is not None:
            Path(config_file).unlink(missing_ok=True)
