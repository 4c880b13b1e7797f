"""Export and serve a model registered by ``train_model`` / ``tesla train``: the bridge between the registry's
:class:`~tesla_lab.models.ModelBundle` and :func:`~tesla_lab.serve.export_model`.

``tesla deploy -m NAME -p production --serve`` = :func:`~tesla_lab.workflow.deploy_model` (registry stage), then
:func:`export_registered` (TorchScript + ONNX + metadata under ``<project>/exports/NAME-vN``), then
:func:`~tesla_lab.serve.serve` on 127.0.0.1.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from tesla_lab.errors import ConfigError, NotFoundError, StoreError
from tesla_lab.serve.export import ExportInfo, export_model
from tesla_lab.store import Project
from tesla_lab.workflow import load_registered

__all__ = ["ServingHead", "export_registered", "export_dir_for"]

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


def export_registered(project: Project, name: str, *, stage: str | None = None, version: int | None = None,
                      out_dir: str | Path | None = None, formats: tuple[str, ...] = ("torchscript", "onnx"),
                      ) -> ExportInfo:
    """Export the registered model ``name`` (by ``stage`` or ``version``; default the newest) for serving.

    Only torch models can be exported (a scikit-learn model raises :class:`~tesla_lab.errors.ConfigError`).
    """
    mv = project.registry.get_model(name, stage=stage, version=version)
    bundle = load_registered(project, name, version=mv.version)
    module = getattr(bundle.estimator, "module", None)
    if not isinstance(module, nn.Module):
        raise ConfigError(
            f"model {name!r} v{mv.version} is a {bundle.estimator.family} model, which cannot be exported to "
            "TorchScript/ONNX; serve torch families (linear, logistic, mlp, cnn, tt_mlp), e.g. "
            f"`tesla train -m {name} -f tt`"
        )
    head = ServingHead(module, single_logit=bool(getattr(bundle.estimator, "single_logit", False)),
                       target_scaling=bundle.target_scaling).cpu().eval()
    reference = _training_features(project, mv.run_id, bundle.features)
    if reference is not None and len(reference):
        example = torch.as_tensor(bundle.transform(reference.head(8)), dtype=torch.float32)
    else:
        example = torch.zeros(8, *bundle.input_shape)
    meta: dict[str, Any] = {"model_name": name, "model_version": mv.version, "stage": mv.stage,
                            "run_id": mv.run_id, "metrics": dict(bundle.metrics), "target": bundle.target}
    target = Path(out_dir) if out_dir is not None else export_dir_for(project, name, mv.version)
    info = export_model(
        head, example, target, pipeline=bundle.preprocessing, feature_names=bundle.features,
        class_labels=bundle.classes, task=bundle.task, metadata=meta, reference_data=reference,
        formats=formats, outputs="logits" if bundle.task == "classification" else "auto", overwrite=True,
    )
    logger.info("exported %s v%d to %s", name, mv.version, info.path)
    return info
