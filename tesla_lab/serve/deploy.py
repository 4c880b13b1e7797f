"""Export and serve a model registered by ``train_model`` / ``tesla train``: the bridge between the registry's
:class:`~tesla_lab.models.ModelBundle` and :func:`~tesla_lab.serve.export_model`.

``tesla deploy -m NAME -p production --serve`` = :func:`deploy_registered`: every check first (the model is a family
that exports: torch and tt to TorchScript + ONNX, scikit-learn to ONNX through skl2onnx; for serving: the bind
address, the serving packages, a free port), then the export (model files + metadata under
``<project>/exports/NAME-vN``, written atomically and checked against the bundle), and only then the registry stage
(:func:`~tesla_lab.workflow.deploy_model`). A deploy that cannot export or serve changes nothing: the version in
production stays there and ``tesla serve`` keeps finding it. The caller then runs :func:`~tesla_lab.serve.serve` on
127.0.0.1.

>>> import tempfile
>>> from tesla_lab.workflow import train_model
>>> project = Project.init(tempfile.mkdtemp())
>>> _ = train_model(project, {"dataset": "iris", "framework": "scikit-learn", "model": {"n_estimators": 5}},
...                 name="iris-rf")
>>> done = deploy_registered(project, "iris-rf", "production", export=True)
>>> done.result.stage, done.export.formats, done.export.metadata["runtime"]
('production', ['onnx'], 'onnx')
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from tesla_lab.errors import ConfigError, ExportError, NotFoundError, StoreError, TeslaError
from tesla_lab.models import ModelBundle
from tesla_lab.serve._deps import require
from tesla_lab.serve.export import ExportInfo, export_model
from tesla_lab.serve.server import check_bind
from tesla_lab.store import ModelVersion, Project
from tesla_lab.workflow import DEPLOY_STAGES, DeployResult, deploy_model, load_registered

__all__ = ["ServingHead", "Deployment", "export_registered", "export_dir_for", "exportable_version",
           "check_servable", "deploy_registered"]

logger = logging.getLogger(__name__)


class ServingHead(nn.Module):
    """The trained network plus what the bundle applies after it, so the export answers like ``bundle.predict``:
    a single binary logit becomes two logits ``(0, z)`` (softmax = ``(1 - sigmoid z, sigmoid z)``), a regression
    trained on standardized targets is mapped back to the target's units.

    >>> head = ServingHead(nn.Linear(2, 1), single_logit=True)
    >>> head(torch.zeros(3, 2)).shape
    torch.Size([3, 2])
    """

    def __init__(self, module: nn.Module, *, single_logit: bool = False,
                 target_scaling: dict[str, float] | None = None) -> None:
        super().__init__()
        self.module = module
        self.single_logit = single_logit
        scale = target_scaling or {"mean": 0.0, "std": 1.0}
        self.register_buffer("mean", torch.tensor(float(scale["mean"])))
        self.register_buffer("std", torch.tensor(float(scale["std"])))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.module(x)
        if self.single_logit:
            return torch.cat([torch.zeros_like(out), out], dim=-1)
        return out * self.std + self.mean


def export_dir_for(project: Project, name: str, version: int) -> Path:
    """Where exports of ``name`` version ``version`` go: ``<project>/exports/NAME-vVERSION``."""
    return Path(project.path) / "exports" / f"{name}-v{version}"


def _training_features(project: Project, run_id: str | None, features: list[str]) -> pd.DataFrame | None:
    """The raw training features of the run that made the model (for drift monitoring), when still stored."""
    if run_id is None:
        return None
    try:
        info = project.get_run(run_id).info()
        name, version = info.get("dataset_name"), info.get("dataset_version")
        if not name:
            return None
        df = project.datasets.load_version(name, int(version) if version is not None else None)
    except (NotFoundError, StoreError) as exc:
        logger.warning("training data of run %s not available (%s): exporting without drift reference", run_id, exc)
        return None
    missing = [f for f in features if f not in df.columns]
    return None if missing else df[features]


def _production(project: Project, name: str) -> str:
    try:
        return f"v{project.registry.get_model(name, stage='production').version} stays in production"
    except NotFoundError:
        return f"no version of {name} is in production"


def exportable_version(project: Project, name: str, *, stage: str | None = None, version: int | None = None,
                       deploying: bool = False) -> tuple[ModelVersion, ModelBundle]:
    """The registered version of ``name`` (by ``stage`` or ``version``; default the newest) and its bundle, after
    checking it can be exported: torch families trace to TorchScript (+ ONNX), scikit-learn families convert to
    ONNX with skl2onnx. Anything else raises :class:`~tesla_lab.errors.ConfigError` naming its family and what to
    do instead (with ``deploying``: also that nothing was changed)."""
    mv = project.registry.get_model(name, stage=stage, version=version)
    bundle = load_registered(project, name, version=mv.version)
    family, framework = bundle.estimator.family, bundle.estimator.framework
    if isinstance(getattr(bundle.estimator, "module", None), nn.Module):
        return mv, bundle
    unchanged = f"; nothing was changed ({_production(project, name)})" if deploying else ""
    if framework == "scikit-learn":
        from tesla_lab.serve.sklearn_onnx import check_convertible

        try:
            check_convertible(family, bundle.estimator.estimator)  # type: ignore[attr-defined]
        except TeslaError as exc:
            raise type(exc)(f"{exc}{unchanged}") from exc
        return mv, bundle
    raise ConfigError(
        f"cannot {'deploy' if deploying else 'export'} {name} v{mv.version} with export: it is a {family} model "
        f"({framework}), which TESLA Lab cannot export for serving{unchanged}. Deploy it without --export/--serve to "
        f"only set its stage, or train a family that exports (torch, tt or scikit-learn), e.g. "
        f"`tesla train -m {name} -f tt`")


def export_registered(project: Project, name: str, *, stage: str | None = None, version: int | None = None,
                      out_dir: str | Path | None = None, formats: tuple[str, ...] = ("torchscript", "onnx"),
                      ) -> ExportInfo:
    """Export the registered model ``name`` (by ``stage`` or ``version``; default the newest) for serving.

    Torch models become TorchScript (+ ONNX), scikit-learn models ONNX (:mod:`tesla_lab.serve.sklearn_onnx`).
    """
    mv, bundle = exportable_version(project, name, stage=stage, version=version)
    return _export(project, mv, bundle, mv.stage, out_dir, formats)


def _export(project: Project, mv: ModelVersion, bundle: ModelBundle, stage: str, out_dir: str | Path | None,
            formats: tuple[str, ...]) -> ExportInfo:
    name = mv.name
    reference = _training_features(project, mv.run_id, bundle.features)
    meta: dict[str, Any] = {"model_name": name, "model_version": mv.version, "stage": stage,
                            "run_id": mv.run_id, "metrics": dict(bundle.metrics), "target": bundle.target}
    target = Path(out_dir) if out_dir is not None else export_dir_for(project, name, mv.version)
    if not isinstance(getattr(bundle.estimator, "module", None), nn.Module):  # scikit-learn (exportable_version)
        from tesla_lab.serve.sklearn_onnx import export_sklearn

        if tuple(formats) != ("onnx",):
            logger.info("%s is a scikit-learn model: exported as ONNX only (formats %s do not apply)", name, formats)
        info = export_sklearn(bundle, target, metadata=meta, reference_data=reference, overwrite=True)
        logger.info("exported %s v%d to %s", name, mv.version, info.path)
        return info
    module = bundle.estimator.module  # type: ignore[attr-defined]  (checked by exportable_version)
    head = ServingHead(module, single_logit=bool(getattr(bundle.estimator, "single_logit", False)),
                       target_scaling=bundle.target_scaling).cpu().eval()
    if reference is not None and len(reference):
        example = torch.as_tensor(bundle.transform(reference.head(8)), dtype=torch.float32)
    else:
        example = torch.zeros(8, *bundle.input_shape)
    info = export_model(
        head, example, target, pipeline=bundle.preprocessing, feature_names=bundle.features,
        class_labels=bundle.classes, task=bundle.task, metadata=meta, reference_data=reference,
        formats=formats, outputs="logits" if bundle.task == "classification" else "auto", overwrite=True,
    )
    logger.info("exported %s v%d to %s", name, mv.version, info.path)
    return info


def check_servable(host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    """Everything :func:`~tesla_lab.serve.serve` needs that can be checked before it starts: a token for a
    non-loopback ``host``, FastAPI and uvicorn installed, and ``port`` free on ``host``.

    >>> import socket
    >>> with socket.socket() as busy:
    ...     busy.bind(("127.0.0.1", 0)); busy.listen(); port = busy.getsockname()[1]
    ...     check_servable("127.0.0.1", port)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: cannot serve on 127.0.0.1:...: the port is in use (...); stop what uses it or \
pick another --port
    """
    check_bind(host, token)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"port must be an integer in 0..65535; got {port!r}")
    require("fastapi")
    require("uvicorn")
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            if os.name == "posix":  # as uvicorn binds: a listening socket still refuses, TIME_WAIT leftovers do not
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"cannot serve on {host}:{port}: the port is in use ({exc.strerror}); stop what uses it "
                              "or pick another --port") from exc
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; pick an address of this machine "
                          "(--host) and a free --port") from exc


@dataclass
class Deployment:
    """What :func:`deploy_registered` did: the registry change and the export (``None`` without ``export``)."""

    result: DeployResult
    export: ExportInfo | None = None


def deploy_registered(project: Project, name: str, stage: str = "production", *, version: int | None = None,
                      export: bool = True, serve_on: tuple[str, int, str | None] | None = None,
                      out_dir: str | Path | None = None, formats: tuple[str, ...] = ("torchscript", "onnx"),
                      ) -> Deployment:
    """Deploy ``name`` (``version``, default the newest) to ``stage`` atomically: with ``export`` (or
    ``serve_on=(host, port, token)``, which implies it) check the model exports and, for ``serve_on``, that it can
    be served there (:func:`check_servable`), export it, and only then set the stage. Any failure before the stage
    changes leaves the registry as it was. Starting the server is the caller's (``serve(info.path, ...)``)."""
    if serve_on is not None:
        check_servable(*serve_on)
        export = True
    if not export:
        return Deployment(deploy_model(project, name, stage, version=version))
    if stage not in DEPLOY_STAGES:  # deploy_model checks it too; here before the export is written
        raise ConfigError(f"deploy stage must be one of: {', '.join(DEPLOY_STAGES)}; got {stage!r}")
    mv, bundle = exportable_version(project, name, version=version, deploying=True)
    try:
        info = _export(project, mv, bundle, stage, out_dir, formats)
    except ExportError as exc:  # a conversion or check that failed: say that the registry is as it was
        raise ExportError(f"{exc}; nothing was changed ({_production(project, name)})") from exc
    return Deployment(deploy_model(project, name, stage, version=mv.version), info)
