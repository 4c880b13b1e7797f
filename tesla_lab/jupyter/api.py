"""What the REST handlers answer, as plain JSON-ready dicts built from the library (the handlers only route).

The JupyterLab sidebar shows exactly these: :func:`overview` (datasets, runs with their key metric and live
progress, registered models, notebooks), and acts through :func:`stop_run`, :func:`create_notebook` and
:func:`run_notebook`. Nothing here is computed again in TypeScript.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp(), name="demo")
>>> run = project.start_run(name="rank-8", params={"epochs": 4})
>>> run.log_metrics({"loss": 0.5, "val_accuracy": 0.91}, step=0)
>>> row = overview(project)["runs"][0]
>>> row["name"], row["status"], row["key_metric"], row["progress"]
('rank-8', 'running', {'name': 'val_accuracy', 'value': 0.91}, {'done': 1, 'total': 4, 'fraction': 0.25})
"""

from __future__ import annotations

import ast
import importlib
import logging
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, LabDependencyError
from tesla_lab.jobs.notebooks import PROJECT_PARAMETER, RUN_ID_PARAMETER, TRAINING_RUN_PARAM
from tesla_lab.store import FINAL_STATUSES, NotFoundError, Project
from tesla_lab.store.project import CONFIG_FILE, RUN_COLUMNS

__all__ = [
    "KEY_METRICS",
    "LabDependencyError",
    "overview",
    "run_list",
    "dataset_list",
    "model_list",
    "notebook_list",
    "find_project",
    "init_project",
    "stop_run",
    "template_parameters",
    "coerce_parameters",
    "validate_parameters",
    "create_notebook",
    "run_notebook",
    "to_json",
]

logger = logging.getLogger(__name__)

#: The metric a run's row shows, the first one the run logged in this order (else its first metric by name).
KEY_METRICS = ("val_accuracy", "accuracy", "val_loss", "loss")
_RUN_BASE = ("id", "name", "status", "created", "duration", "device", "dataset", "dataset_version", "epochs_done",
             "resumed")
_ACTIVE = ("queued", "running")
#: parameters the notebook runner fills in itself: the "new notebook" / "run as job" forms do not show them
INTERNAL_PARAMETERS = (PROJECT_PARAMETER, RUN_ID_PARAMETER)


def _require(module: str, purpose: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise LabDependencyError(f"{module} is not importable ({exc}); it is needed to {purpose}: "
                                 "pip install 'tesla-lab[lab]'") from exc


# ------------------------------------------------------------------------------------------------ JSON
def to_json(value: Any) -> Any:
    """``value`` with NaN/NaT as ``None``, timestamps as ISO-8601 strings and numpy scalars as Python numbers.

    >>> import numpy as np
    >>> to_json({"a": np.float32(0.5), "b": float("nan"), "c": pd.Timestamp(0, tz="UTC"), "d": (1, np.int64(2))})
    {'a': 0.5, 'b': None, 'c': '1970-01-01T00:00:00+00:00', 'd': [1, 2]}
    """
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # astype(object) first: a float column keeps NaN, and to_json turns it into None
    return [to_json(rec) for rec in frame.astype(object).to_dict(orient="records")]


# ---------------------------------------------------------------------------------------------- project
def find_project(start: str | os.PathLike[str]) -> Project | None:
    """The project at ``start`` or above it (like git), or ``None`` when there is none.

    >>> import tempfile
    >>> find_project(tempfile.mkdtemp()) is None
    True
    """
    folder = Path(start).expanduser().resolve()
    if any((f / CONFIG_FILE).is_file() for f in (folder, *folder.parents)):
        return Project(folder)
    return None


def init_project(start: str | os.PathLike[str], name: str | None = None) -> Project:
    """Create a project at ``start`` with the starter notebooks (the sidebar's "create a project here" button)."""
    from tesla_lab.workflow import create_project

    return create_project(start, name=name or None)


# ------------------------------------------------------------------------------------------------- runs
def _key_metric(row: Mapping[str, Any], metrics: Iterable[str]) -> dict[str, Any] | None:
    logged = [m for m in metrics if row.get(m) is not None and not pd.isna(row.get(m))]
    if not logged:
        return None
    name = next((m for m in KEY_METRICS if m in logged), sorted(logged)[0])
    return {"name": name, "value": to_json(row[name])}


def _progress(project: Project, run_id: str, epochs: Any) -> dict[str, Any]:
    """Epochs done (the last logged step + 1: the store callback logs one step per epoch) out of ``epochs``."""
    steps = project.get_run(run_id).metrics()["step"]
    done = int(steps.max()) + 1 if len(steps) else 0
    total = None
    if isinstance(epochs, (int, float)) and not isinstance(epochs, bool) and math.isfinite(epochs) and epochs > 0:
        total = int(epochs)
    fraction = None if total is None else round(min(1.0, done / total), 4)
    return {"done": done, "total": total, "fraction": fraction}


def _epochs_source(project: Project, rec: Mapping[str, Any]) -> tuple[str, Any]:
    """The run whose logged steps count a row's epochs, and its planned epochs. A notebook job's own run logs no
    epochs: the training run it started (its ``training_run_id`` param, set when training begins) does; the planned
    epochs are that run's, else the job's own ``epochs`` parameter."""
    own = str(rec["id"])
    linked = rec.get(f"param.{TRAINING_RUN_PARAM}")
    candidates: list[Any] = []
    run_id = own
    if isinstance(linked, str) and linked:
        try:
            training = project.get_run(linked)
            run_id = training.id
            candidates += [training.params().get("epochs"), training.config.get("epochs")]
        except NotFoundError:
            logger.warning("run %s names training run %s, which is not in the store", own[:8], linked)
    candidates.append(rec.get("param.epochs"))
    for epochs in candidates:
        if epochs is not None and not (isinstance(epochs, float) and math.isnan(epochs)):
            return run_id, epochs
    return run_id, project.get_run(own).config.get("epochs")


def run_list(project: Project, limit: int | None = 200) -> list[dict[str, Any]]:
    """The newest ``limit`` runs: ``id, name, status, created, duration, device, dataset, dataset_version,
    key_metric`` ({name, value} or None) and, for queued and running runs, ``progress`` ({done, total,
    fraction}; total from the ``epochs`` param or config)."""
    return _run_rows(project, project.runs(), limit)


def _run_rows(project: Project, frame: pd.DataFrame, limit: int | None) -> list[dict[str, Any]]:
    if limit is not None:
        frame = frame.head(limit)
    metrics = [c for c in frame.columns if c not in RUN_COLUMNS and not c.startswith("param.")]
    out = []
    for rec in frame.astype(object).to_dict(orient="records"):
        row = {k: to_json(rec[k]) for k in _RUN_BASE}
        row["key_metric"] = _key_metric(rec, metrics)
        row["progress"] = None
        if rec["status"] in _ACTIVE:
            row["progress"] = _progress(project, *_epochs_source(project, rec))
        out.append(row)
    return out


def dataset_list(project: Project) -> list[dict[str, Any]]:
    """One entry per dataset: ``name, head, versions, n_rows, n_cols, updated``."""
    return _records(project.datasets.list_datasets())


def model_list(project: Project) -> list[dict[str, Any]]:
    """Every registered model version: ``name, version, stage, run_id, created, description`` (newest first
    within a name)."""
    frame = project.registry.list_models()
    return _records(frame[["name", "version", "stage", "run_id", "created", "description"]])


def notebook_list(project: Project) -> list[str]:
    """The notebooks in the project's ``notebooks/`` folder (paths relative to the project), sorted."""
    folder = project.notebooks_dir
    if not folder.is_dir():
        return []
    return sorted(p.relative_to(project.path).as_posix() for p in folder.glob("*.ipynb") if p.is_file())


def overview(project: Project, *, limit: int | None = 200) -> dict[str, Any]:
    """Everything the sidebar shows, in one answer: ``project`` ({name, path}), ``datasets``, ``runs`` (the newest
    ``limit``), ``models``, ``notebooks`` and ``active`` (the number of queued or running runs)."""
    frame = project.runs()
    return {
        "project": {"name": project.name, "path": str(project.path)},
        "datasets": dataset_list(project),
        "runs": _run_rows(project, frame, limit),
        "models": model_list(project),
        "notebooks": notebook_list(project),
        "active": int(frame["status"].isin(_ACTIVE).sum()),  # all of them, also beyond `limit`
    }


def stop_run(project: Project, run: str) -> dict[str, Any]:
    """Stop a run: set its stop flag (the trainer's store callback ends the epoch and stops) and, for a run that
    a background training job runs (:mod:`tesla_lab.jobs`), let the job escalate to SIGTERM/SIGKILL after its grace
    period. A run trained in a notebook kernel only gets the flag: its kernel is never signalled.

    >>> import tempfile
    >>> project = Project.init(tempfile.mkdtemp())
    >>> run = project.start_run(name="a")
    >>> stop_run(project, "a")["stop_requested"], run.stop_requested()
    (True, True)
    """
    found = project.get_run(run)
    status = found.status
    if status in FINAL_STATUSES:
        raise ConfigError(f"run {found.id[:8]} ({found.name}) already ended ({status}); only queued or running "
                          "runs can be stopped")
    found.request_stop()
    background = False
    try:
        from tesla_lab.jobs import attach
    except ImportError:  # the jobs layer is optional here: the flag alone stops a trainer with a store callback
        attach = None
    if attach is not None:
        job = attach(project, found)
        if Path(job.log_path).is_file():  # the worker's log exists only for runs the jobs module launched
            job.stop()
            background = True
    return {"id": found.id, "name": found.name, "status": found.status, "stop_requested": True,
            "background_job": background}


# -------------------------------------------------------------------------------------------- notebooks
def _template_path(project: Project, template: str | os.PathLike[str]) -> Path:
    path = Path(template).expanduser()
    path = path if path.is_absolute() else project.path / path
    if not path.is_file() and path.parent == project.notebooks_dir:
        from tesla_lab.workflow import STARTER_NOTEBOOKS, template_notebook

        if path.name in STARTER_NOTEBOOKS:  # a project made before `tesla init` wrote it: the package's copy
            shipped = Path(str(template_notebook(path.name)))
            path = shipped if shipped.is_file() else path
    if not path.is_file():
        raise NotFoundError(f"the training notebook template {path} does not exist; point c.TeslaLab.template at "
                            "a papermill-parameterized notebook of the project (default: notebooks/train.ipynb, "
                            "which `tesla init` writes)")
    return path


_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "bool": (bool,), "list": (list,),
                                       "dict": (dict,), "tuple": (tuple, list)}


def _kind(parameter: Mapping[str, Any]) -> str:
    """A parameter's type: its annotation (what papermill reports), else the type of a literal default."""
    kind = parameter.get("inferred_type_name")
    if kind and kind != "None":
        return str(kind)
    try:
        value = ast.literal_eval(parameter.get("default") or "")
    except (ValueError, SyntaxError):
        return "None"
    return type(value).__name__ if type(value).__name__ in _TYPES or isinstance(value, str) else "None"


def _form_text(default: str | None, kind: str) -> str:
    """A default as the form shows it: a ``str`` literal without its quotes, ``None`` as an empty field (left empty,
    nothing is sent: the notebook keeps its ``None``), anything else as its source text.

    >>> _form_text("'mnist'", "str"), _form_text("None", "None"), _form_text("[8, 8]", "list")
    ('mnist', '', '[8, 8]')
    """
    if default is None or default.strip() == "None":
        return ""
    if kind == "str":
        try:
            value = ast.literal_eval(default)
        except (ValueError, SyntaxError):
            return default
        return value if isinstance(value, str) else default
    return default


def template_parameters(project: Project, template: str | os.PathLike[str]) -> dict[str, Any]:
    """A notebook's papermill parameters: ``{"template": path, "parameters": [{name, type, default, help, value,
    internal}]}`` (``default``: the source text of the default; ``value``: the text a form field starts with, empty
    for a ``None`` default; ``internal``: the runner fills it in, forms hide it). ``template`` is relative to the
    project or absolute.

    >>> import tempfile, nbformat
    >>> project = Project.init(tempfile.mkdtemp())
    >>> cell = nbformat.v4.new_code_cell("epochs = 5  # passes over the data\\nname: str = 'mnist'")
    >>> cell.metadata["tags"] = ["parameters"]
    >>> kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    >>> nb = nbformat.v4.new_notebook(cells=[cell], metadata={"kernelspec": kernel})
    >>> nbformat.write(nb, project.notebooks_dir / "train.ipynb")
    >>> found = template_parameters(project, "notebooks/train.ipynb")["parameters"]
    >>> [(p["name"], p["type"], p["value"]) for p in found]
    [('epochs', 'int', '5'), ('name', 'str', 'mnist')]
    >>> [p["internal"] for p in found]
    [False, False]
    """
    path = _template_path(project, template)
    papermill = _require("papermill", "read a notebook's parameters")
    found = papermill.inspect_notebook(str(path))
    params = []
    for p in found.values():
        kind = _kind(p)
        params.append({"name": p["name"], "type": kind, "default": p.get("default"), "help": p.get("help") or "",
                       "value": _form_text(p.get("default"), kind), "internal": p["name"] in INTERNAL_PARAMETERS})
    return {"template": str(path), "parameters": params}


def coerce_parameters(declared: Iterable[Mapping[str, Any]], values: Mapping[str, Any]) -> dict[str, Any]:
    """Form values → Python values for papermill: text typed for a ``str`` parameter stays text; any other text is
    read as a Python literal and must match the declared type. Non-text values (from JSON) are kept.

    >>> declared = [{"name": "epochs", "type": "int"}, {"name": "dataset", "type": "str"}]
    >>> coerce_parameters(declared, {"epochs": "5", "dataset": "mnist"})
    {'epochs': 5, 'dataset': 'mnist'}
    >>> coerce_parameters(declared, {"epochs": "five"})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: parameter 'epochs' takes a int; got 'five'; type a Python literal such as 5...
    >>> coerce_parameters(declared, {"lr": "0.1"})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: the notebook has no parameter 'lr'; its parameters are: epochs, dataset
    """
    types = {d["name"]: str(d.get("type") or "None") for d in declared}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in types:
            raise ConfigError(f"the notebook has no parameter {name!r}; its parameters are: "
                              f"{', '.join(types) or '(none: tag a cell `parameters`)'}")
        kind = types[name]
        if not isinstance(value, str) or kind == "str":
            out[name] = value
            continue
        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            if kind in _TYPES:
                example = {"int": "5", "float": "0.01", "bool": "True", "list": "[8, 8]", "dict": "{'a': 1}",
                           "tuple": "(4, 8)"}[kind]
                raise ConfigError(f"parameter {name!r} takes a {kind}; got {value!r}; type a Python literal such "
                                  f"as {example}") from None
            parsed = value  # an untyped parameter (default None, an expression): keep the text
        expected = _TYPES.get(kind)
        if expected and (not isinstance(parsed, expected) or (kind != "bool" and isinstance(parsed, bool))):
            raise ConfigError(f"parameter {name!r} takes a {kind}; got {value!r} ({type(parsed).__name__}); "
                              "type a value of that type")
        out[name] = parsed
    return out


def validate_parameters(declared: Iterable[Mapping[str, Any]], values: Mapping[str, Any]) -> dict[str, str]:
    """Each bad form value's error, by parameter name (empty: all good): what the dialogs show beside the fields
    before anything is created or launched.

    >>> validate_parameters([{"name": "epochs", "type": "int"}], {"epochs": "ten"})["epochs"]
    "parameter 'epochs' takes a int; got 'ten'; type a Python literal such as 5"
    >>> validate_parameters([{"name": "epochs", "type": "int"}], {"epochs": "10"})
    {}
    """
    declared = list(declared)
    errors = {}
    for name, value in values.items():
        try:
            coerce_parameters(declared, {name: value})
        except ConfigError as exc:
            errors[str(name)] = str(exc)
    return errors


def _new_notebook_path(project: Project, name: str | None) -> Path:
    if name:
        if os.sep in name or (os.altsep and os.altsep in name) or name.startswith("."):
            raise ConfigError(f"a notebook name is a file name in notebooks/ (no folders, not hidden); got {name!r}")
        target = project.notebooks_dir / (name if name.endswith(".ipynb") else f"{name}.ipynb")
        if target.exists():
            raise ConfigError(f"{target} already exists; choose another name (nothing was overwritten)")
        return target
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = project.notebooks_dir / f"train-{stamp}.ipynb"
    n = 1
    while target.exists():
        n += 1
        target = project.notebooks_dir / f"train-{stamp}-{n}.ipynb"
    return target


def create_notebook(project: Project, template: str | os.PathLike[str], parameters: Mapping[str, Any], *,
                    name: str | None = None) -> Path:
    """Write a new notebook in ``notebooks/`` from the template, with ``parameters`` injected after its
    ``parameters`` cell (papermill's ``injected-parameters`` cell; nothing is executed). Returns its path."""
    info = template_parameters(project, template)
    values = coerce_parameters(info["parameters"], parameters)
    papermill = _require("papermill", "fill in a notebook's parameters")
    nbformat = _require("nbformat", "write notebooks")
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(info["template"])  # papermill's reader: every cell gets a `tags` list
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    language = nb.metadata.get("kernelspec", {}).get("language") or nb.metadata.get("language_info", {}).get("name")
    nb = parameterize_notebook(nb, values, kernel_name=kernel, language=language or "python")
    nb.metadata.get("papermill", {}).pop("parameters", None)  # keep the notebook's metadata as the user would
    for cell in nb.cells:
        if not cell.metadata.get("tags", True):
            del cell.metadata["tags"]  # the empty lists papermill's reader added
    target = _new_notebook_path(project, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "x", encoding="utf-8") as fh:  # "x": never overwrite a notebook written meanwhile
        nbformat.write(nb, fh)
    logger.info("created %s from %s (papermill %s)", target, info["template"], papermill.__version__)
    return target


def run_notebook(project: Project, notebook: str | os.PathLike[str], parameters: Mapping[str, Any], *,
                 wait: float = 30.0) -> dict[str, Any]:
    """Run a project notebook as a papermill batch job (:func:`tesla_lab.jobs.notebooks.run`) and return once its
    run exists in the store: ``{notebook, run_id, name, status}``. Text parameter values are coerced to the
    notebook's declared types first.

    ``jobs.notebooks.run`` waits for papermill, so it is called on a daemon thread of this process; papermill and
    its kernel run in their own process group, and the run's stop flag (the sidebar's Stop) ends them. An error
    raised before the run exists (an unknown parameter, a missing kernel) is raised here.
    """
    path = Path(notebook)
    path = path if path.is_absolute() else project.path / path
    resolved = path.resolve()
    if project.path not in resolved.parents or resolved.suffix != ".ipynb" or not resolved.is_file():
        raise NotFoundError(f"{str(notebook)!r} is not a notebook inside the project {project.path}; pick one of: "
                            f"{', '.join(notebook_list(project)) or '(no notebooks in notebooks/)'}")
    papermill = _require("papermill", "run notebooks as batch jobs")
    declared = [{"name": p["name"], "type": _kind(p)} for p in papermill.inspect_notebook(str(resolved)).values()]
    values = coerce_parameters(declared, parameters)
    notebooks = _require("tesla_lab.jobs.notebooks", "run notebooks as batch jobs")

    started = threading.Event()
    box: dict[str, Any] = {}

    def on_start(run: Any) -> None:
        box["run"] = run
        started.set()

    def supervise() -> None:
        try:
            result = notebooks.run(str(resolved), values, project=project, check=False, on_start=on_start)
            logger.info("notebook job %s ended %s", resolved.name, getattr(result, "status", "?"))
        except Exception as exc:  # reported to the request while it waits, logged after that
            box["error"] = exc
            logger.error("notebook job %s failed: %s", resolved.name, exc)
        finally:
            started.set()

    threading.Thread(target=supervise, name=f"tesla-notebook-{resolved.stem}", daemon=True).start()
    started.wait(wait)
    rel = resolved.relative_to(project.path).as_posix()
    if "run" not in box:
        if "error" in box:
            raise box["error"]
        return {"notebook": rel, "run_id": None, "name": None, "status": "starting"}
    run = box["run"]
    return {"notebook": rel, "run_id": run.id, "name": run.name, "status": "running"}
