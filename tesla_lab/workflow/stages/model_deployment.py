"""The deployment stage (``from tesla.model import ModelDeployment``): :class:`ModelDeployment` promotes a trained
model's registry version (:func:`~tesla_lab.workflow.deploy_model`, the code path of ``tesla deploy``), exports it for
serving and returns a :class:`Deployment` saying where it is; with ``serve=True`` it also serves it from this process.

>>> ModelDeployment(port=70000)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: port must be an integer in 0..65535 (0: a free port); got 70000
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store import Project
from tesla_lab.workflow.deployment import deploy_model, load_registered
from tesla_lab.workflow.stages.stage import _check_frame, _Stage

__all__ = ["ModelDeployment", "Deployment"]

logger = logging.getLogger(__name__)


@dataclass
class Deployment:
    """Where a deployed model is: its registry ``name``, ``version`` and ``stage`` (``previous``: the version it
    replaced there), the ``project`` folder, the ``export_dir`` (TorchScript + ONNX + ``metadata.json``, loadable
    with :func:`~tesla_lab.serve.load_exported`), the ``serve_command`` that serves it over REST, and the ``url``
    when this process serves it (``serve=True``; :meth:`stop` ends that).

    >>> print(Deployment("m", 2, "production", None, Path("/p"), None, (), "tesla serve -m m --version 2"))
    m v2 → production; serve with: tesla serve -m m --version 2
    """

    name: str
    version: int
    stage: str
    previous: int | None
    project: Path
    export_dir: Path | None
    formats: tuple[str, ...]
    serve_command: str
    url: str | None = None
    features: tuple[str, ...] = ()
    _server: contextlib.ExitStack | None = field(default=None, repr=False, compare=False)

    def predict(self, data: Any) -> dict[str, Any]:
        """Ask the exported model, as the server would: ``{"predictions": [...], ...}`` for raw feature rows.

        >>> Deployment("m", 1, "staging", None, Path("/p"), None, (), "tesla serve -m m --version 1").predict([[1.0]])
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: m v1 was deployed with export=False; deploy with export=True (the default) to \
get an export to predict with
        """
        if self.export_dir is None:
            raise ConfigError(f"{self.name} v{self.version} was deployed with export=False; deploy with export=True "
                              "(the default) to get an export to predict with")
        from tesla_lab.serve import load_exported  # the serving layer sits above the workflow: imported on use

        if isinstance(data, pd.DataFrame) and self.features:
            missing = [f for f in self.features if f not in data.columns]
            if missing:
                raise DataError(f"the rows lack the model's feature column(s) {', '.join(map(repr, missing))}")
            data = data[list(self.features)]  # the pipeline frame may still hold its target column
        return load_exported(self.export_dir).predict(data)

    def stop(self) -> None:
        """Stop serving (no-op when this process does not serve it).

        >>> d = Deployment("m", 1, "production", None, Path("/p"), None, (), "tesla serve -m m --version 1")
        >>> d.stop(); d.url is None
        True
        """
        if self._server is not None:
            self._server.close()
            self._server, self.url = None, None

    def __enter__(self) -> Deployment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __str__(self) -> str:
        where = f"served at {self.url}" if self.url else f"serve with: {self.serve_command}"
        replaced = f" (v{self.previous} archived)" if self.previous is not None else ""
        return f"{self.name} v{self.version} → {self.stage}{replaced}; {where}"


class ModelDeployment(_Stage):
    """Deploys a trained model: promotes its registry version to ``stage`` (:func:`~tesla_lab.workflow.deploy_model`),
    exports it for serving (:func:`~tesla_lab.serve.export_registered`, under ``<project>/exports/NAME-vN``) and
    returns a :class:`Deployment` saying where it is. Serving starts only with ``serve=True``: a REST server in a
    background thread of this process, on 127.0.0.1 unless ``host`` (with a ``token``) says otherwise.

    Args:
        project: the project of models given by name (a :class:`TrainedModel` brings its own).
        stage: ``'production'`` (default) or ``'staging'``.
        export: write the export (the default; ``serve=True`` needs it).
        formats: export formats (default: TorchScript and ONNX when installed).
        serve, host, port, token: serve the export from this process (port 0: a free port).

    >>> ModelDeployment(stage="live")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: deploy stage must be one of: staging, production; got 'live'
    """

    def __init__(self, project: Project | str | os.PathLike[str] | None = None, *, stage: str = "production",
                 export: bool = True, formats: Sequence[str] | None = None, serve: bool = False,
                 host: str = "127.0.0.1", port: int = 0, token: str | None = None) -> None:
        super().__init__(project)
        self.settings = self._check({"stage": stage, "export": export, "formats": formats, "serve": serve,
                                     "host": host, "port": port, "token": token})

    @staticmethod
    def _check(settings: dict[str, Any]) -> dict[str, Any]:
        from tesla_lab.workflow.deployment import DEPLOY_STAGES

        if settings["stage"] not in DEPLOY_STAGES:
            raise ConfigError(f"deploy stage must be one of: {', '.join(DEPLOY_STAGES)}; got {settings['stage']!r}")
        if settings["serve"] and not settings["export"]:
            raise ConfigError("serve=True serves the export, so it needs export=True")
        port = settings["port"]
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"port must be an integer in 0..65535 (0: a free port); got {port!r}")
        return settings

    def _deploy(self, method: str, data: Any, model: Any, overrides: Mapping[str, Any]) -> Deployment:
        unknown = set(overrides) - set(self.settings)
        if unknown:
            raise ConfigError(f"unknown deploy option(s) {', '.join(sorted(unknown))}; valid options: "
                              f"{', '.join(self.settings)}")
        s = self._check({**self.settings, **overrides})
        project, name, version, bundle = self._registered(model, method)
        frame = _check_frame(data, f"deploy.{method}")
        bundle = bundle or load_registered(project, name, version=version)
        missing = [f for f in bundle.features if f not in frame.columns]
        if missing:
            raise DataError(f"the data lacks the model's feature column(s) {', '.join(map(repr, missing))}; deploy "
                            f"{name!r} with data holding its features: {', '.join(bundle.features)}")
        if s["serve"]:
            from tesla_lab.serve import check_bind  # serving layer, imported on use

            check_bind(s["host"], s["token"])  # refuse a public address without a token before any change
        promoted = deploy_model(project, name, s["stage"], version=version)
        command = shlex.join(["tesla", "serve", "-m", name, "--version", str(promoted.version), "--project",
                              str(project.path)])
        deployment = Deployment(name=promoted.name, version=promoted.version, stage=promoted.stage,
                                previous=promoted.previous, project=Path(project.path), export_dir=None, formats=(),
                                serve_command=command, features=tuple(bundle.features))
        if s["export"]:
            from tesla_lab.serve.deploy import export_registered

            kw = {} if s["formats"] is None else {"formats": tuple(s["formats"])}
            info = export_registered(project, name, version=promoted.version, **kw)
            deployment.export_dir, deployment.formats = Path(info.path), tuple(info.formats)
        if s["serve"]:
            from tesla_lab.serve import background_server

            stack = contextlib.ExitStack()
            deployment.url = stack.enter_context(background_server(str(deployment.export_dir), host=s["host"],
                                                                   port=s["port"], token=s["token"]))
            deployment._server = stack
        logger.info("deployed %s", deployment)
        return deployment

    def linear_regression(self, data: pd.DataFrame, model: Any, **options: Any) -> Deployment:
        """Deploy a ``linear_regression`` model; ``data`` must hold its feature columns; ``options`` override the
        stage's settings (``stage``, ``export``, ``formats``, ``serve``, ``host``, ``port``, ``token``).

        >>> ModelDeployment().linear_regression(None, "m", stag="staging")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: unknown deploy option(s) stag; valid options: stage, export, formats, serve, \
host, port, token
        """
        return self._deploy("linear_regression", data, model, options)

    def logistic_regression(self, data: pd.DataFrame, model: Any, **options: Any) -> Deployment:
        """Deploy a ``logistic_regression`` model (see :meth:`linear_regression`).

        >>> ModelDeployment().logistic_regression(None, "m", serve=True, export=False)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: serve=True serves the export, so it needs export=True
        """
        return self._deploy("logistic_regression", data, model, options)

    def neural_network(self, data: pd.DataFrame, model: Any, **options: Any) -> Deployment:
        """Deploy a ``neural_network`` model (see :meth:`linear_regression`).

        >>> ModelDeployment().neural_network(None, "m", port=-1)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: port must be an integer in 0..65535 (0: a free port); got -1
        """
        return self._deploy("neural_network", data, model, options)
