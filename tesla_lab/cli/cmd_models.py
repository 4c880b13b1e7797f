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
import os
from typing import Any

from tesla_lab.cli.output import err, out, records, table, to_json
from tesla_lab.cli.registry import get_project, register_command

__all__: list[str] = []


# -------------------------------------------------------------------------------------------------- evaluate
def _configure_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, metavar="NAME", help="the registered model (tesla models)")
    parser.add_argument("-d", "--data", required=True, metavar="FILE|SAMPLE|NAME[@V]",
                        help="data holding the target column")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--stage", choices=["none", "staging", "production", "archived"],
                       help="evaluate the newest version in this stage")
    which.add_argument("--version", type=int, help="evaluate this version (default: the newest)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--plot", metavar="OUT.html",
                        help="also write the confusion matrix (or predicted vs true) and the per-class table to an "
                             "offline HTML page")


def _run_evaluate(args: argparse.Namespace) -> int:
    from tesla_lab.workflow import evaluate_model

    result = evaluate_model(get_project(args), args.model, args.data, stage=args.stage, version=args.version)
    if args.plot:
        from tesla_lab.ui.evaluation import write_evaluation_html

        path = write_evaluation_html(result.report, args.plot, title=f"{result.name} v{result.version} on "
                                                                     f"{result.data} ({result.n_samples} rows)")
        err(f"wrote {path}")
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
    parser.add_argument("-m", "--model", required=True, metavar="NAME", help="the registered model (tesla models)")
    parser.add_argument("-p", "--stage", default="production", choices=["production", "staging"],
                        help="the stage to promote to (default: production)")
    parser.add_argument("--version", type=int, help="the version to promote (default: the newest)")
    parser.add_argument("--export", action="store_true",
                        help="also export it under exports/NAME-vN (torch, tt: TorchScript + ONNX; scikit-learn: "
                             "ONNX with its preprocessing) + metadata")
    parser.add_argument("--serve", action="store_true",
                        help="export it and serve it over REST (POST /predict and the KServe V2 protocol) until "
                             "Ctrl-C")
    add_serve_options(parser)


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``tesla deploy --serve`` and ``tesla serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; others need --token)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--token", default=os.environ.get("TESLA_SERVE_TOKEN"),
                        help="require 'Authorization: Bearer TOKEN' (default: $TESLA_SERVE_TOKEN)")


def export_and_serve(args: argparse.Namespace, project: Any, *, stage: str | None, version: int | None,
                     serve: bool) -> None:
    """Export the registered model, then (``serve``) run the REST server on it until interrupted."""
    from tesla_lab.serve.deploy import check_servable, export_registered

    if serve:
        check_servable(args.host, args.port, args.token)  # before any work
    info = export_registered(project, args.model, stage=stage, version=version)
    out(f"exported {args.model} to {info.path} ({', '.join(info.formats)})")
    if serve:
        _serve(args, info.path)


def _serve(args: argparse.Namespace, path: Any) -> None:
    from tesla_lab.serve import serve as run_server

    out(f"serving on http://{args.host}:{args.port} (POST /predict, GET /health /metadata /metrics; V2: POST "
        f"/v2/models/{args.model}/infer, GET /v2/models/{args.model} /v2/health/ready); Ctrl-C stops")
    run_server(path, host=args.host, port=args.port, token=args.token)


def _run_deploy(args: argparse.Namespace) -> int:
    from tesla_lab.serve.deploy import deploy_registered

    serve_on = (args.host, args.port, args.token) if args.serve else None
    done = deploy_registered(get_project(args), args.model, args.stage, version=args.version,
                             export=args.export or args.serve, serve_on=serve_on)
    out(str(done.result))
    if done.export is not None:
        out(f"exported {args.model} to {done.export.path} ({', '.join(done.export.formats)})")
    if args.serve and done.export is not None:
        _serve(args, done.export.path)
    return 0


def _configure_serve(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", required=True, metavar="NAME", help="the registered model (tesla models)")
    parser.add_argument("-p", "--stage", default="production", help="serve the version in this stage")
    parser.add_argument("--version", type=int, help="serve this version instead of the stage's")
    add_serve_options(parser)


def _run_serve(args: argparse.Namespace) -> int:
    stage = None if args.version is not None else args.stage
    export_and_serve(args, get_project(args), stage=stage, version=args.version, serve=True)
    return 0


register_command("serve", "serve a deployed model over REST on 127.0.0.1 (export + uvicorn)",
                 configure=_configure_serve, run=_run_serve)


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
