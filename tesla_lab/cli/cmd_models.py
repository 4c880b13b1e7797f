"""``tesla evaluate``, ``tesla deploy`` and ``tesla models`` (the registry).

>>> import tempfile
>>> from tesla_lab.cli import main
>>> root = tempfile.mkdtemp(); _ = main(["init", root])  # doctest: +ELLIPSIS
created project ...
>>> main(["--project", root, "models"])
(no models yet; train one with `tesla train -m NAME`)
0
"""

from __future__ import annotations

import argparse

from tesla_lab.cli.output import out, records, table, to_json
from tesla_lab.cli.registry import get_project, register_command

__all__: list[str] = []


# -------------------------------------------------------------------------------------------------- evaluate
def _configure_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, metavar="NAME")
    parser.add_argument("-d", "--data", required=True, metavar="FILE|SAMPLE|NAME[@V]",
                        help="data holding the target column")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stage", choices=["none", "staging", "production", "archived"],
                       help="evaluate the newest version in this stage")
    which.add_argument("--version", type=int, help="evaluate this version (default: the newest)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")


def _run_evaluate(args: argparse.Namespace) -> int:
    from tesla_lab.workflow import evaluate_model

    result = evaluate_model(get_project(args), args.model, args.data, stage=args.stage, version=args.version)
    if args.json:
        out(to_json({"name": result.name, "version": result.version, "stage": result.stage, "data": result.data,
                     "n_samples": result.n_samples, "metrics": result.metrics, "report": result.report}))
        return 0
    out(f"{result.name} v{result.version} (stage: {result.stage}) on {result.data}: {result.n_samples} rows")
    out(table([{"metric": k, "value": v} for k, v in result.metrics.items()], ["metric", "value"]))
    per_class = result.report.get("per_class")
    if per_class:
        out()
        rows = [{"class": name, **scores} for name, scores in per_class.items()]
        out(table(rows, ["class", "precision", "recall", "f1", "support"]))
    return 0


register_command("evaluate", "score a registered model on labelled data", configure=_configure_evaluate,
                 run=_run_evaluate)


# ---------------------------------------------------------------------------------------------------- deploy
def _configure_deploy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, metavar="NAME")
    parser.add_argument("-p", "--stage", default="production", choices=["production", "staging"],
                        help="the stage to promote to (default: production)")
    parser.add_argument("--version", type=int, help="the version to promote (default: the newest)")


def _run_deploy(args: argparse.Namespace) -> int:
    from tesla_lab.workflow import deploy_model

    out(str(deploy_model(get_project(args), args.model, args.stage, version=args.version)))
    return 0


register_command("deploy", "promote a registered model to production or staging", configure=_configure_deploy,
                 run=_run_deploy)


# ---------------------------------------------------------------------------------------------------- models
def _configure_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", help="only the versions of this model")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _headline(metrics: dict[str, float]) -> str:
    for key in ("accuracy", "r2"):
        if key in metrics:
            return f"{key} {metrics[key]:.4g}"
    return "-"


def _run_models(args: argparse.Namespace) -> int:
    frame = get_project(args).registry.list_models(args.name)
    rows = records(frame)
    if args.json:
        out(to_json(rows))
        return 0
    for row in rows:
        meta = row.get("metadata") or {}
        row.update(family=meta.get("family"), task=meta.get("task"), dataset=meta.get("dataset"),
                   test=_headline(meta.get("metrics") or {}), run=(row.get("run_id") or "")[:8])
    out(table(rows, ["name", "version", "stage", "family", "task", "dataset", "test", "run", "created"],
              empty="(no models yet; train one with `tesla train -m NAME`)"))
    return 0


register_command("models", "list the registered models and their stages", configure=_configure_models,
                 run=_run_models)
