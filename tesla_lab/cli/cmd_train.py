"""``tesla train``: build a :class:`~tesla_lab.workflow.TrainConfig` from ``--config`` and the flags, hand it to
:func:`~tesla_lab.workflow.train_model`, print what came out.

>>> import tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp(); _ = main(["init", root])  # doctest: +ELLIPSIS
created project ...
>>> main(["--project", root, "train", "-m", "m", "-f", "scikit-learn", "-d", "iris", "--family", "sklearn:logistic",
...       "--param", "C=2"])  # doctest: +ELLIPSIS
trained m v1 on iris@1 (run ..., finished)
  model: sklearn:logistic (scikit-learn), classification of 'target' into 3 classes
  rows:  120 train, 30 test
metric ...
0
"""

from __future__ import annotations

import argparse
from typing import Any

import yaml

from tesla_lab.cli.output import out, table, to_json
from tesla_lab.cli.registry import get_project, register_command
from tesla_lab.errors import ConfigError

__all__ = ["config_from_args"]


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 64,32; got {text!r}") from None


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. n_estimators=200); got {text!r}")
    try:
        return key.strip(), yaml.safe_load(value)  # 200 → int, 0.5 → float, [8, 8] → list, text stays text
    except yaml.YAMLError:
        return key.strip(), value


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", metavar="NAME", help="model name in the registry (required unless --resume)")
    parser.add_argument("--resume", metavar="RUN_ID", help="continue a stopped, failed or crashed run in place from "
                        "its last checkpoint (same run; -p raises its total epochs); other options are the run's own")
    parser.add_argument("-f", "--framework", metavar="FRAMEWORK", help="torch (default), tt or scikit-learn")
    parser.add_argument("-p", "--iterations", "--epochs", type=int, metavar="N",
                        help="training iterations: epochs for torch / tt, max_iter or n_estimators (whichever the "
                             "estimator has) for scikit-learn")
    parser.add_argument("-d", "--dataset", metavar="NAME[@V]|FILE|SAMPLE",
                        help="training data (default: the dataset loaded last)")
    parser.add_argument("--target", help="target column (default: the one given at `tesla load`, else the last)")
    parser.add_argument("--features", help="comma-separated feature columns (default: all others)")
    parser.add_argument("--task", choices=["auto", "classification", "regression"])
    parser.add_argument("--family", help="model family, e.g. logistic, mlp, cnn, tt_mlp, sklearn:ridge")
    parser.add_argument("--hidden", type=_int_list, metavar="N,N", help="hidden layer sizes, e.g. 64,32")
    parser.add_argument("--tt-rank", type=int, metavar="R", help="tensor-train rank of TT layers")
    parser.add_argument("--param", type=_param, action="append", default=[], metavar="KEY=VALUE",
                        help="another hyper-parameter of the family (repeatable), e.g. --param dropout=0.1")
    parser.add_argument("--config", metavar="YAML", help="a YAML file of training options; flags override it")
    parser.add_argument("--optimizer", help="adam (default), sgd, adamw, rmsprop, adagrad")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the project's)")
    parser.add_argument("--precision", help="fp32, bf16, fp16 or mixed (default: the project's)")
    parser.add_argument("--test-size", type=float, help="held-out test fraction (default 0.2)")
    parser.add_argument("--val-size", type=float, help="validation fraction (default 0)")
    dist = parser.add_argument_group("several processes / machines (torchrun, c10d rendezvous)")
    dist.add_argument("--nproc", type=int, metavar="N", help="processes on this machine: one per GPU, or a few on CPUs")
    dist.add_argument("--nodes", type=int, metavar="N", help="machines taking part (run the same command on each)")
    dist.add_argument("--node-rank", type=int, metavar="K", help="this machine: 0 on the one whose address is --master")
    dist.add_argument("--master", metavar="ADDR:PORT", help="node 0's address and a free port (the rendezvous)")
    dist.add_argument("--rdzv-id", default="tesla", metavar="ID", help="job id, the same on every node")
    dist.add_argument("--dist-timeout", type=float, metavar="SECONDS",
                      help="how long the others wait for a lost node before the run fails (default 1800)")
    dist.add_argument("--join-timeout", type=float, metavar="SECONDS",
                      help="how long to wait for every node to start (default 600)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~tesla_lab.workflow.TrainConfig` the flags describe (``--config`` first, flags on top)."""
    from tesla_lab.workflow import TrainConfig

    base = TrainConfig.from_yaml(args.config) if args.config else TrainConfig()
    model = dict(base.model)
    if args.hidden is not None:
        model["hidden_sizes"] = args.hidden
    if args.tt_rank is not None:
        model["tt_rank"] = args.tt_rank
    model.update(dict(args.param))
    return base.replace(dataset=args.dataset, target=args.target, features=args.features, task=args.task,
                        framework=args.framework, family=args.family, model=model or None, optimizer=args.optimizer,
                        lr=args.lr, iterations=args.iterations, batch_size=args.batch_size, seed=args.seed,
                        device=args.device, precision=args.precision, test_size=args.test_size,
                        val_size=args.val_size)


def _distributed(args: argparse.Namespace) -> bool:
    return any(v is not None for v in (args.nodes, args.node_rank, args.master)) or (args.nproc or 1) > 1


def _launch(args: argparse.Namespace, project: Any) -> int:
    """Run this node's processes under torchrun; each runs `tesla train` of the same config."""
    from tesla_lab.jobs.multinode import train_on_nodes

    if args.json:
        raise ConfigError("--json is not available with --nproc/--nodes: rank 0 prints the result of the run")
    if args.resume:
        config, name = None, None
    elif not args.model:
        raise ConfigError("tesla train needs -m/--model NAME (the registry name), or --resume RUN_ID")
    else:
        config, name = config_from_args(args), args.model
    nodes = args.nodes or 1
    train_on_nodes(project, config, name=name, resume=args.resume, epochs=args.iterations if args.resume else None,
                   nproc=args.nproc or 1, nodes=nodes, node_rank=args.node_rank, master=args.master,
                   rdzv_id=args.rdzv_id, dist_timeout=args.dist_timeout, join_timeout=args.join_timeout,
                   quiet=args.quiet)
    out(f"node {args.node_rank or 0} of {nodes}: {args.nproc or 1} process(es) done")
    return 0


def _run(args: argparse.Namespace) -> int:
    from tesla_lab.workflow import iteration_option, train_model

    project = get_project(args)
    if _distributed(args):
        return _launch(args, project)
    progress = not (args.quiet or args.json)
    if args.resume:
        from tesla_lab.workflow import resume_model

        result = resume_model(project, args.resume, epochs=args.iterations, progress=progress)
    elif not args.model:
        raise ConfigError("tesla train needs -m/--model NAME (the registry name), or --resume RUN_ID")
    else:
        result = train_model(project, config_from_args(args), name=args.model, progress=progress)
    cfg, bundle = result.config, result.bundle
    if result.rank:  # another process of a torchrun job: rank 0 records and prints the run
        out(f"rank {result.rank}: trained its share of {result.name}; rank 0 records the run")
        return 0
    if args.json:
        out(to_json({"run_id": result.run_id, "name": result.name, "version": result.version,
                     "status": result.status, "dataset": result.dataset, "family": cfg.family,
                     "framework": bundle.estimator.framework, "task": bundle.task, "target": bundle.target,
                     "iterations": cfg.iterations,
                     "n_train": result.n_train, "n_test": result.n_test, "metrics": result.metrics}))
        return 0
    what = (f"classification of {bundle.target!r} into {len(bundle.classes or [])} classes"
            if bundle.task == "classification" else f"regression of {bundle.target!r}")
    registered = f"v{result.version}" if result.version is not None else "(not registered)"
    out(f"trained {result.name} {registered} on {result.dataset} (run {result.run_id[:8]}, {result.status})")
    if args.resume:
        out(f"  resumed: the same run, {len(result.history.get('loss', []))} epochs in all")
    out(f"  model: {cfg.family} ({bundle.estimator.framework}), {what}")
    if cfg.iterations is not None:
        out(f"  iterations: {cfg.iterations} ({iteration_option(cfg.family)})")
    out(f"  rows:  {result.n_train} train, {result.n_test} test")
    out(table([{"metric": k, "test": v} for k, v in result.metrics.items()], ["metric", "test"]))
    out(f"next: tesla evaluate -m {result.name} -d FILE   |   tesla deploy -m {result.name} -p production")
    return 0


register_command("train", "train a model on a dataset and register it", configure=_configure, run=_run)
