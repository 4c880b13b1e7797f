"""``tesla automl``: build an :class:`~tesla_lab.automl.AutoMLConfig` from the flags, hand it to
:func:`~tesla_lab.automl.run_automl`, print the trials as they end, the leaderboard, the test metrics and the
registered model.

>>> import tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp(); _ = main(["init", root])  # doctest: +ELLIPSIS
created project ...
>>> main(["--project", root, "automl", "-d", "iris", "--families", "sklearn:logistic", "--max-trials", "2",
...       "--time-budget", "20", "-q"])  # doctest: +ELLIPSIS
automl iris-automl on iris@1: classification of 'target', best of 2 trial(s) by validation accuracy ...
rank  trial  family            val_accuracy  fit_time  n_params  status  params
...
registered iris-automl v1 (run ...)
...
0
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import yaml

from tesla_lab.cli.output import out, plain, table, to_json
from tesla_lab.cli.registry import get_project, register_command

__all__ = ["config_from_args", "format_params"]


def _space(text: str) -> tuple[str, str, Any]:
    key, sep, value = text.partition("=")
    family, dot, param = key.strip().rpartition(".")
    if not sep or not dot or not family or not param:
        raise argparse.ArgumentTypeError(f"expected FAMILY.PARAM=VALUE (e.g. tt_mlp.tt_rank=[2,4] or mlp.epochs=30); "
                                         f"got {text!r}")
    try:
        parsed = yaml.safe_load(value)  # 30 → int, [2, 4] → list (a choice), text stays text
    except yaml.YAMLError:
        parsed = value
    return family, param, parsed


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-d", "--dataset", metavar="NAME[@V]|FILE|SAMPLE",
                        help="the data (default: the dataset loaded last)")
    parser.add_argument("--target", help="target column (default: the one given at `tesla load`, else the last)")
    parser.add_argument("--features", help="comma-separated feature columns (default: all others)")
    parser.add_argument("--task", choices=["auto", "classification", "regression"])
    parser.add_argument("-m", "--model", metavar="NAME", help="registered model name (default: DATASET-automl)")
    parser.add_argument("-t", "--time-budget", type=float, metavar="SECONDS",
                        help="seconds of search (default 60); the final refit comes on top")
    parser.add_argument("-n", "--max-trials", type=int, metavar="N", help="most trials to run (default 50)")
    parser.add_argument("--families", metavar="F,F",
                        help="model families to search (default: linear/logistic, mlp, tt_mlp, random forest and "
                             "scikit-learn's linear model)")
    parser.add_argument("--metric", help="validation metric: accuracy (default), f1, precision, recall, roc_auc; "
                                         "r2 (default), rmse, mae, mse")
    parser.add_argument("--space", type=_space, action="append", default=[], metavar="FAMILY.PARAM=VALUE",
                        help="fix a parameter (mlp.epochs=30) or restrict it to choices (tt_mlp.tt_rank=[2,4]); "
                             "repeatable")
    parser.add_argument("--test-size", type=float, help="held-out test fraction (default 0.2)")
    parser.add_argument("--val-size", type=float, help="validation fraction trials are scored on (default 0.2)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N (default: the project's)")
    parser.add_argument("--storage", metavar="URL|project",
                        help="keep the Optuna study: 'project' (the store's PostgreSQL database, else "
                             ".tesla/optuna.db), an RDB URL (postgresql://user@host/db) or journal:///abs/path.log on "
                             "a shared file system (default: memory; with --workers: the store's PostgreSQL database, "
                             "else a journal file in .tesla/automl/)")
    parser.add_argument("-w", "--workers", type=int, metavar="N",
                        help="processes running trials in parallel on this machine (default 1)")
    parser.add_argument("--study", metavar="NAME", help="Optuna study name, for workers on other machines to --join")
    parser.add_argument("--join", action="store_true",
                        help="join the running search in --storage/--study as a worker (other machines: same "
                             "project store; with the store on PostgreSQL --storage defaults to its database); the "
                             "search's leader registers the best model")
    parser.add_argument("--pruner", choices=["median", "halving", "none"],
                        help="stop bad torch trials early on their per-epoch validation loss (default none)")
    parser.add_argument("--prune-startup", type=int, metavar="N",
                        help="finished trials before the median pruner starts pruning (default 5)")
    parser.add_argument("--threads", type=int, metavar="N", help="torch CPU threads during the search (default 1)")
    parser.add_argument("--no-refit", action="store_true",
                        help="keep the best trial's model instead of retraining it on train + validation rows")
    parser.add_argument("--top", type=int, default=10, metavar="N", help="leaderboard rows to print (default 10)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no line per trial")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def config_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~tesla_lab.automl.AutoMLConfig` the flags describe (flags left out keep the defaults)."""
    from tesla_lab.automl import AutoMLConfig

    space: dict[str, dict[str, Any]] = {}
    for family, param, value in args.space:
        space.setdefault(family, {})[param] = value
    return AutoMLConfig().replace(
        dataset=args.dataset, target=args.target, features=args.features, task=args.task, families=args.families,
        metric=args.metric, time_budget=args.time_budget, max_trials=args.max_trials, space=space or None,
        test_size=args.test_size, val_size=args.val_size, seed=args.seed, device=args.device, storage=args.storage,
        torch_threads=args.threads, refit=False if args.no_refit else None, workers=args.workers, study=args.study,
        pruner=args.pruner, prune_startup=args.prune_startup)


def format_params(params: dict[str, Any]) -> str:
    """Hyper-parameters as ``key=value`` pairs, floats to 3 significant digits.

    >>> format_params({"hidden_sizes": [64, 64], "lr": 0.0123456, "max_depth": None})
    'hidden_sizes=[64, 64], lr=0.0123, max_depth=None'
    """
    parts = []
    for key, value in params.items():
        text = f"{value:.3g}" if isinstance(value, float) else json.dumps(value) if isinstance(value, list) else value
        parts.append(f"{key}={text}")
    return ", ".join(parts) or "(defaults)"


def _trial_line(record: Any) -> None:
    score = "-" if record.val_score is None else f"{record.val_score:.4g}"
    detail = f"  {record.error}" if record.error else ""
    out(f"  trial {record.trial:3d}  {record.family:<22} {record.status:<7} val {score:<8} "
        f"{record.fit_time:6.2f} s{detail}")


def _join(args: argparse.Namespace, project: Any) -> int:
    from tesla_lab.automl.study import project_storage
    from tesla_lab.automl.workers import join_search, search_time_left, start_workers, stop_workers
    from tesla_lab.errors import ConfigError

    pg_store = project.location.engine == "postgresql"
    if not args.study or not (args.storage or pg_store):
        raise ConfigError("tesla automl --join needs --storage URL and --study NAME of the running search (as given "
                          "to, or printed by, the leader's `tesla automl`)")
    if args.storage == "project" and not pg_store:
        raise ConfigError("--join needs a storage every machine reaches: an RDB URL (postgresql://user@host/db) or "
                          "journal:///abs/path.log on a shared file system; got 'project' (the SQLite file "
                          ".tesla/optuna.db), which is shared only with the PostgreSQL store")
    if args.storage in (None, "project"):  # the store's PostgreSQL database: where the leader kept the study
        args.storage = project_storage(project)
    quiet = args.quiet or args.json
    extra = start_workers(project, args.storage, args.study, (args.workers or 1) - 1, first_index=None)
    done = False
    try:
        records = join_search(project, args.storage, args.study, on_trial=() if quiet else _trial_line)
        done = True
    finally:  # the others end with the search (its trials or its budget); after an error they are stopped
        stop_workers(extra, timeout=search_time_left(args.storage, args.study) + 60 if done else 0)
    if args.json:
        out(to_json({"study": args.study, "trials": [r.to_dict() for r in records]}))
    else:
        more = f" (and {len(extra)} more process(es) here)" if extra else ""
        out(f"joined {args.study}: ran {len(records)} trial(s){more}; the leader lists them in its leaderboard")
    return 0


def _run(args: argparse.Namespace) -> int:
    from tesla_lab.automl import run_automl

    project = get_project(args)
    if args.join:
        return _join(args, project)
    cfg = config_from_args(args)
    quiet = args.quiet or args.json
    if cfg.study and cfg.storage and cfg.storage != "project" and not args.json:
        out(f"study {cfg.study}: workers on other machines join with `tesla automl --join --storage {cfg.storage} "
            f"--study {cfg.study}`")
    elif cfg.study and project.location.engine == "postgresql" and not args.json \
            and (cfg.storage == "project" or (cfg.storage is None and cfg.workers > 1)):
        out(f"study {cfg.study} in the store's database: workers on other machines (same tesla.yaml store:) join "
            f"with `tesla automl --join --study {cfg.study}`")
    result = run_automl(project, cfg, name=args.model, on_trial=() if quiet else _trial_line)
    board = result.leaderboard
    if args.json:
        out(to_json({"name": result.name, "version": result.version, "run_id": result.run_id,
                     "dataset": result.dataset, "task": result.task, "metric": result.metric,
                     "maximize": result.maximize, "best": result.best.to_dict(), "test_metrics": result.test_metrics,
                     "n_trials": result.n_trials, "n_failed": result.n_failed, "elapsed": result.elapsed,
                     "leaderboard": [plain(r) for r in board.to_dict(orient="records")]}))
        return 0
    score = f"val_{result.metric}"
    out(f"automl {result.name} on {result.dataset}: {result.task} of {result.bundle.target!r}, best of "
        f"{result.n_trials} trial(s) by validation {result.metric} ({result.n_failed} failed, {result.elapsed:.1f} s)")
    rows = [{"rank": i + 1, "trial": r["trial"], "family": r["family"], score: r["val_score"],
             "fit_time": r["fit_time"], "n_params": r["n_params"], "status": r["status"],
             "params": format_params(r["params"]) if r["status"] != "failed" else r["error"]}
            for i, r in enumerate(board.head(max(args.top, 1)).to_dict(orient="records"))]
    columns = ["rank", "trial", "family", score, "fit_time", "n_params", "status", "params"]
    if result.config.workers > 1 or board["worker"].nunique() > 1:  # which process ran each trial
        for row, worker in zip(rows, board["worker"]):
            row["worker"] = worker
        columns.insert(-1, "worker")
    out(table(rows, columns))
    refit = "retrained on train + validation rows" if result.config.refit else "as trained in its trial"
    out(f"best: {result.best.family} (trial {result.best.trial}), {refit}; test metrics:")
    out(table([{"metric": k, "test": v} for k, v in result.test_metrics.items()], ["metric", "test"]))
    if result.version is not None:
        out(f"registered {result.name} v{result.version} (run {result.run_id[:8]})")
    out(f"next: tesla evaluate -m {result.name} -d FILE   |   tesla deploy -m {result.name} -p production")
    return 0


register_command("automl", "search model families and hyper-parameters, register the best model",
                 configure=_configure, run=_run)
