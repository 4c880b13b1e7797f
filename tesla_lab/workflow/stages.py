"""The TESLA documents' model stages (``from tesla.model import ModelTraining``): :class:`ModelTraining`,
:class:`ModelEvaluation` and :class:`ModelDeployment`, thin objects over :func:`train_model`,
:func:`evaluate_model`, :func:`deploy_model` and :func:`~tesla_lab.serve.export_registered`: the same code path as
``tesla train`` / ``tesla evaluate`` / ``tesla deploy``.

Each method is named for the model it deals with (``linear_regression``, ``logistic_regression``,
``neural_network``) and takes a pipeline DataFrame whose target column is ``df.attrs["target"]`` (see
:mod:`tesla_lab.data.stages`) or its last column.

**Where runs go.** Every stage works in a TESLA project (:class:`~tesla_lab.store.Project`): the one given as
``project=`` (a Project or a folder, created there when it holds none), else the project around the current
folder (searched upward, as ``tesla`` commands do), else the pipeline's default project in ``~/.tesla/pipeline``
(``$TESLA_PIPELINE_DIR`` moves it), created on first use. The choice is logged; ``stage.project`` tells.

>>> import tempfile, pandas as pd
>>> from tesla_lab.data import DataIngestion
>>> root = tempfile.mkdtemp()
>>> data = DataIngestion().load_sample("diabetes")
>>> train, evaluate = ModelTraining(project=root), ModelEvaluation()
>>> model = train.linear_regression(data)
>>> model.name, model.version, model.metrics["r2"] > 0.2
('linear-regression', 1, True)
>>> evaluation = evaluate.linear_regression(data, model)
>>> sorted(evaluation), evaluation["r2"] > 0.3
(['mae', 'mse', 'r2', 'rmse'], True)
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

import numpy as np
import pandas as pd

from tesla_lab.data.stages import frame_target
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.models import ModelBundle
from tesla_lab.store import Project
from tesla_lab.store.project import CONFIG_FILE
from tesla_lab.workflow.config import TrainConfig
from tesla_lab.workflow.datasets import parse_ref
from tesla_lab.workflow.deployment import deploy_model, evaluate_model, load_registered
from tesla_lab.workflow.preprocess import detect_task
from tesla_lab.workflow.training import TrainResult, train_model

__all__ = ["ModelTraining", "ModelEvaluation", "ModelDeployment", "TrainedModel", "Deployment",
           "open_stage_project", "pipeline_dir", "PIPELINE_DIR_ENV"]

logger = logging.getLogger(__name__)

PIPELINE_DIR_ENV = "TESLA_PIPELINE_DIR"

# the families each method trains, and training settings that suit them (options passed in win)
_FAMILIES = {"linear_regression": ("linear",), "logistic_regression": ("logistic",),
             "neural_network": ("mlp", "tt_mlp")}
_FIT_DEFAULTS: dict[str, dict[str, Any]] = {
    "linear": {"epochs": 40, "lr": 0.05, "batch_size": 64},  # one layer on standardized data: big steps converge
    "logistic": {"epochs": 40, "lr": 0.05, "batch_size": 64},
    "mlp": {"epochs": 30, "lr": 0.005},
    "tt_mlp": {"epochs": 30, "lr": 0.005},
}


# ------------------------------------------------------------------------------------------------------ project
def pipeline_dir() -> Path:
    """The default project of the pipeline stages: ``$TESLA_PIPELINE_DIR`` or ``~/.tesla/pipeline``.

    >>> import os
    >>> os.environ["TESLA_PIPELINE_DIR"] = "/tmp/runs"; str(pipeline_dir())
    '/tmp/runs'
    >>> del os.environ["TESLA_PIPELINE_DIR"]
    """
    return Path(os.environ.get(PIPELINE_DIR_ENV) or Path.home() / ".tesla" / "pipeline").expanduser()


def _holds_project(folder: Path) -> bool:
    folder = folder.expanduser().resolve()
    return any((f / CONFIG_FILE).is_file() for f in (folder, *folder.parents))


def open_stage_project(project: Project | str | os.PathLike[str] | None = None) -> Project:
    """The project a stage stores its runs in: ``project`` (a Project, or a folder: the project holding it, else a
    new one created there); ``None``: the project around the current folder, else :func:`pipeline_dir` (created
    when missing).

    >>> import tempfile
    >>> open_stage_project(tempfile.mkdtemp()).datasets.names()
    []
    >>> open_stage_project(42)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: project must be a Project, a folder path or None (the one around the current \
folder); got 42
    """
    if isinstance(project, Project):
        return project
    if project is not None and not isinstance(project, (str, os.PathLike)):
        raise ConfigError(f"project must be a Project, a folder path or None (the one around the current folder); "
                          f"got {project!r}")
    if project is None and _holds_project(Path.cwd()):
        opened = Project()
        logger.info("pipeline runs go to the project around the current folder: %s", opened.path)
        return opened
    folder = Path(project if project is not None else pipeline_dir()).expanduser()
    if _holds_project(folder):
        opened = Project(folder)
        logger.info("pipeline runs go to project %s", opened.path)
        return opened
    created = Project.init(folder, name=None if project is not None else "tesla-pipeline")
    if project is None:
        logger.warning("no TESLA project around %s: pipeline runs go to %s (pass project=, run `tesla init` here, "
                       "or set $%s)", Path.cwd(), created.path, PIPELINE_DIR_ENV)
    else:
        logger.info("created TESLA project %s for the pipeline runs", created.path)
    return created


class _Stage:
    """A stage's project, resolved on first use (so a stage made before ``os.chdir`` follows it)."""

    def __init__(self, project: Project | str | os.PathLike[str] | None = None) -> None:
        if project is not None and not isinstance(project, (Project, str, os.PathLike)):
            open_stage_project(project)  # raises the ConfigError now, not at first use
        self._project_arg = project
        self._project: Project | None = None

    @property
    def project(self) -> Project:
        """The project this stage stores runs in (see :func:`open_stage_project`)."""
        if self._project is None:
            self._project = open_stage_project(self._project_arg)
        return self._project

    def _registered(self, model: Any, method: str) -> tuple[Project, str, int, ModelBundle | None]:
        """``model`` (a :class:`TrainedModel`, or ``'NAME'`` / ``'NAME@VERSION'`` registered in this stage's
        project) as (project, name, version, bundle if at hand), after checking it is a ``method`` model."""
        if isinstance(model, TrainedModel):
            # ModelTraining always registers, so the version is set
            project, name, version, family, bundle = model.project, model.name, int(model.version or 0), \
                model.family, model.bundle
        elif isinstance(model, str) and model.strip():
            project, bundle = self.project, None
            name, wanted = parse_ref(model.strip())
            mv = project.registry.get_model(name, version=wanted)  # NotFoundError listing the models
            version, family = mv.version, str(mv.metadata.get("family"))
        else:
            raise ConfigError(f"model must be what ModelTraining returned, or a registered model name ('NAME' or "
                              f"'NAME@VERSION'); got {type(model).__name__} {model!r}")
        if family not in _FAMILIES[method]:
            right = next((m for m, fams in _FAMILIES.items() if family in fams), None)
            fix = f"call .{right}(data, model)" if right else "train it with ModelTraining"
            raise ConfigError(f".{method}() takes a {method} model ({', '.join(_FAMILIES[method])}); model {name!r} "
                              f"v{version} is a {family} model; {fix}")
        return project, name, version, bundle


def _check_frame(data: Any, who: str) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{who} takes the pipeline's pandas DataFrame (e.g. DataIngestion().load_csv(...)); got "
                        f"{type(data).__name__}")
    return data


def _fingerprint(frame: pd.DataFrame) -> int:
    """A hash of the rows' values (not their order or index), to notice evaluation on the training rows."""
    try:
        return int(pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64).sum(dtype=np.uint64))
    except TypeError:  # unhashable cells (lists): no warning then
        return 0


# ----------------------------------------------------------------------------------------------------- training
@dataclass
class TrainedModel:
    """What a :class:`ModelTraining` method returns: the :class:`~tesla_lab.workflow.TrainResult` of the run and the
    project holding it. ``metrics`` are the scores on the rows held out from training.

    >>> import tempfile
    >>> from tesla_lab.data import load
    >>> model = ModelTraining(tempfile.mkdtemp(), epochs=5).logistic_regression(load("iris"))
    >>> model.task, model.family, model.predict(load("iris").head(2)).shape
    ('classification', 'logistic', (2,))
    """

    method: str
    result: TrainResult
    project: Project
    data_fingerprint: int = 0

    @property
    def name(self) -> str:
        """The model's name in the registry."""
        return self.result.name

    @property
    def version(self) -> int | None:
        """Its registry version."""
        return self.result.version

    @property
    def run_id(self) -> str:
        """The run that trained it."""
        return self.result.run_id

    @property
    def bundle(self) -> ModelBundle:
        """The :class:`~tesla_lab.models.ModelBundle`: raw rows in, predictions in the original labels out."""
        return self.result.bundle

    @property
    def family(self) -> str:
        """The model family (``linear``, ``logistic``, ``mlp``, ``tt_mlp``)."""
        return str(self.result.bundle.estimator.family)

    @property
    def task(self) -> str:
        """``'regression'`` or ``'classification'``."""
        return self.result.bundle.task

    @property
    def target(self) -> str:
        """The target column."""
        return self.result.bundle.target

    @property
    def metrics(self) -> dict[str, float]:
        """Scores on the held-out test rows (``r2``, ``mse``, ... or ``accuracy``, ``f1_macro``, ...)."""
        return dict(self.result.metrics)

    def predict(self, data: Any) -> np.ndarray:
        """Predictions for raw rows (a DataFrame with the feature columns, records or an array)."""
        return self.bundle.predict(data)

    def __repr__(self) -> str:
        headline = [k for k in ("r2", "accuracy") if k in self.metrics] + ["mse", "f1_macro"]
        shown = ", ".join(f"{k}={self.metrics[k]:.3g}" for k in headline if k in self.metrics)
        return (f"TrainedModel({self.method}, name={self.name!r}, version={self.version}, project="
                f"{str(self.project.path)!r}, test: {shown})")


class ModelTraining(_Stage):
    """Trains models on a pipeline DataFrame into a project (:func:`~tesla_lab.workflow.train_model`): each call
    stores the data as a dataset version, records a run, registers the model and returns a :class:`TrainedModel`.

    Args:
        project: where runs go (see the module docs); default: the project around the current folder.
        target: the target column (default: ``data.attrs["target"]``, else the last column).
        name: the registry name (default: the method, e.g. ``'linear-regression'``).
        options: :class:`~tesla_lab.workflow.TrainConfig` options for every call (``epochs``, ``lr``, ``seed``,
            ``test_size``, ...); a method's own keyword options win.

    >>> ModelTraining(epoch=3)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown training option 'epoch' (did you mean 'epochs'?); valid options: ...
    """

    def __init__(self, project: Project | str | os.PathLike[str] | None = None, *, target: str | None = None,
                 name: str | None = None, **options: Any) -> None:
        super().__init__(project)
        self.target = target
        self.name = name
        self.options = dict(options)
        self._config({})  # unknown or bad options fail here, not at the first call

    def _config(self, call: Mapping[str, Any], family: str = "linear", task: str = "auto") -> TrainConfig:
        reserved = {"family", "framework", "target", "dataset", "task", "model"} & (set(self.options) | set(call))
        if reserved:
            raise ConfigError(f"option(s) {', '.join(sorted(reserved))} are set by the method itself; pick the method "
                              "(linear_regression, logistic_regression, neural_network) and pass target= or task= "
                              "as its own arguments")
        return TrainConfig.from_dict({**_FIT_DEFAULTS[family], **self.options, **call, "family": family,
                                      "task": task})

    def _train(self, method: str, data: Any, family: str, task: str, target: str | None, name: str | None,
               hparams: Mapping[str, Any], options: Mapping[str, Any]) -> TrainedModel:
        frame = _check_frame(data, f"train.{method}")
        target = frame_target(frame, target or self.target)
        name = name or self.name or method.replace("_", "-")
        if method == "logistic_regression" and detect_task(frame[target]) == "regression":
            raise DataError(f"logistic_regression classifies, but target {target!r} looks continuous "
                            f"({frame[target].nunique()} distinct numbers); use linear_regression, or name the class "
                            "column with target=")
        source = str(frame.attrs.get("source") or name)
        dataset = Path(source.removeprefix("sample:")).stem or name
        cfg = self._config(options, family, task).replace(target=target, dataset=dataset.replace("@", "_"),
                                                          model=dict(hparams))
        plain = frame.copy(deep=False)
        plain.attrs = {}  # pipeline metadata stays out of the stored dataset
        result = train_model(self.project, cfg, name=name, data=plain)
        logger.info("%s: trained %s v%s in %s (test %s)", method, result.name, result.version, self.project.path,
                    result.metrics)
        return TrainedModel(method=method, result=result, project=self.project, data_fingerprint=_fingerprint(plain))

    def linear_regression(self, data: pd.DataFrame, *, target: str | None = None, name: str | None = None,
                          **options: Any) -> TrainedModel:
        """Fit ``y = x W^T + b`` (family ``linear``, MSE) to predict the numeric target; ``options`` are
        :class:`~tesla_lab.workflow.TrainConfig` options (``epochs``, ``lr``, ``test_size``, ...).

        >>> ModelTraining().linear_regression([[1, 2]])
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: train.linear_regression takes the pipeline's pandas DataFrame (e.g. \
DataIngestion().load_csv(...)); got list
        """
        return self._train("linear_regression", data, "linear", "regression", target, name, {}, options)

    def logistic_regression(self, data: pd.DataFrame, *, target: str | None = None, name: str | None = None,
                            **options: Any) -> TrainedModel:
        """A linear classifier (family ``logistic``: sigmoid for two classes, softmax for more).

        >>> import pandas as pd
        >>> ModelTraining().logistic_regression(pd.DataFrame({"x": [0.1, 0.2, 0.3], "y": [1.5, 2.5, 3.7]}))
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: logistic_regression classifies, but target 'y' looks continuous (3 distinct \
numbers); use linear_regression, or name the class column with target=
        """
        return self._train("logistic_regression", data, "logistic", "classification", target, name, {}, options)

    def neural_network(self, data: pd.DataFrame, *, hidden_sizes: Sequence[int] = (64, 32), activation: str = "relu",
                       dropout: float = 0.0, tt_rank: int | None = None, task: str = "auto",
                       target: str | None = None, name: str | None = None, **options: Any) -> TrainedModel:
        """A multi-layer perceptron (family ``mlp``), or with ``tt_rank`` one whose hidden layers are tensor-train
        layers (family ``tt_mlp``); classification or regression from the target (``task='auto'``).

        >>> import pandas as pd
        >>> ModelTraining().neural_network(pd.DataFrame({"x": [1.0], "y": [2.0]}), task="clasification")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: task must be one of: auto, classification, regression; got 'clasification'
        """
        hparams: dict[str, Any] = {"hidden_sizes": list(hidden_sizes), "activation": activation, "dropout": dropout}
        family = "mlp"
        if tt_rank is not None:
            family, hparams["tt_rank"] = "tt_mlp", tt_rank
        return self._train("neural_network", data, family, task, target, name, hparams, options)


# --------------------------------------------------------------------------------------------------- evaluation
class ModelEvaluation(_Stage):
    """Scores a trained model on a pipeline DataFrame (:func:`~tesla_lab.workflow.evaluate_model`, nothing stored):
    a dict of ``r2``, ``mse``, ``rmse``, ``mae`` (regression) or ``accuracy``, ``precision_macro``,
    ``recall_macro``, ``f1_macro`` (+ ``roc_auc``) (classification).

    ``model`` is what :class:`ModelTraining` returned (its own project is used) or a registered name (``'NAME'``,
    ``'NAME@VERSION'``) in this stage's project. Scoring the rows the model was trained on (as the TESLA document
    does) flatters it; a warning says so, and ``model.metrics`` holds the score on the rows held out from training.

    >>> ModelEvaluation().linear_regression(None, 42)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ('NAME' or \
'NAME@VERSION'); got int 42
    """

    def _evaluate(self, method: str, data: Any, model: Any) -> dict[str, float]:
        project, name, version, _ = self._registered(model, method)
        frame = _check_frame(data, f"evaluate.{method}")
        if isinstance(model, TrainedModel) and model.data_fingerprint and _fingerprint(frame) == \
                model.data_fingerprint:
            logger.warning("evaluating %s on the data it was trained on: most rows are training rows, so the score "
                           "is optimistic; model.metrics holds the score on the held-out rows", name)
        result = evaluate_model(project, name, frame, version=version)
        return dict(result.metrics)

    def linear_regression(self, data: pd.DataFrame, model: Any) -> dict[str, float]:
        """``{'mse', 'rmse', 'mae', 'r2'}`` of a ``linear_regression`` model on ``data``'s rows.

        >>> ModelEvaluation().linear_regression(None, "")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ...
        """
        return self._evaluate("linear_regression", data, model)

    def logistic_regression(self, data: pd.DataFrame, model: Any) -> dict[str, float]:
        """``{'accuracy', 'precision_macro', 'recall_macro', 'f1_macro', ('roc_auc')}`` of a
        ``logistic_regression`` model on ``data``'s rows.

        >>> ModelEvaluation().logistic_regression(None, None)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ...
        """
        return self._evaluate("logistic_regression", data, model)

    def neural_network(self, data: pd.DataFrame, model: Any) -> dict[str, float]:
        """The regression or classification metrics of a ``neural_network`` model on ``data``'s rows.

        >>> ModelEvaluation().neural_network(None, 1.5)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: model must be what ModelTraining returned, or a registered model name ...
        """
        return self._evaluate("neural_network", data, model)


# --------------------------------------------------------------------------------------------------- deployment
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
