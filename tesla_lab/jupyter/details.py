"""What a click in the sidebar opens: a run's page (curves, params, metrics, its executed notebook) and a model
version's stage change (promote to production, archive). Plain JSON-ready dicts; the handlers only route.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> run = project.start_run(name="rank-4", params={"epochs": 2, "tt_rank": 4})
>>> run.log_metrics({"loss": 0.9, "val_loss": 1.0}, step=0); run.log_metrics({"loss": 0.5, "val_loss": 0.7}, step=1)
>>> page = run_page(project, "rank-4")
>>> page["params"], page["curves"]["loss"]
({'epochs': 2, 'tt_rank': 4}, {'steps': [0, 1], 'values': [0.9, 0.5]})
>>> page["summary"]
{'loss': 0.5, 'val_loss': 0.7}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tesla_lab._atomic import atomic_path
from tesla_lab.errors import ConfigError, NotFoundError
from tesla_lab.jobs.notebooks import TRAINING_RUN_PARAM
from tesla_lab.jupyter.api import to_json
from tesla_lab.store import Project

__all__ = ["run_page", "executed_notebook", "set_model_stage", "NOTEBOOK_ARTIFACT", "EXECUTED_DIR"]

#: the artifact name under which a papermill run (and the training run it started) keeps its executed notebook
NOTEBOOK_ARTIFACT = "notebook.ipynb"
#: where "Open executed notebook" puts a copy JupyterLab can open (the store's files sit in the hidden .tesla/)
EXECUTED_DIR = Path("notebooks") / "executed"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_page(project: Project, ref: str) -> dict[str, Any]:
    """One run: ``id, name, status, kind, created, started, ended, device, error, resumed, params, config,
    summary`` (last value of every metric), ``curves`` ({metric: {steps, values}}), ``artifacts`` (names),
    ``notebook`` (whether an executed notebook is stored) and ``training_run`` / ``notebook_run`` links."""
    run = project.get_run(ref)
    info = run.info()
    config = info.get("config") or {}
    params = run.params()
    long = run.metrics()
    curves = {}
    for key, part in long.groupby("key", sort=True):
        curves[str(key)] = {"steps": [int(s) for s in part["step"]], "values": to_json(list(part["value"]))}
    artifacts = [str(n) for n in run.artifacts()["name"]]
    linked = params.get(TRAINING_RUN_PARAM)
    return to_json({
        "id": run.id, "name": info["name"], "status": info["status"], "kind": config.get("kind", "train"),
        "created": info.get("created"), "started": info.get("started"), "ended": info.get("ended"),
        "device": info.get("device"), "error": info.get("error"), "resumed": info.get("resumed"),
        "params": params, "config": config, "summary": run.summary(), "curves": curves, "artifacts": artifacts,
        "notebook": NOTEBOOK_ARTIFACT in artifacts, "training_run": str(linked) if linked else None,
        "notebook_source": config.get("notebook"),
    })


def executed_notebook(project: Project, ref: str) -> Path:
    """A copy of the run's executed notebook in ``notebooks/executed/`` (made once; JupyterLab opens it there).
    A run without one gets a :class:`NotFoundError` saying when there will be one."""
    run = project.get_run(ref)
    if NOTEBOOK_ARTIFACT not in set(run.artifacts()["name"]):
        raise NotFoundError(f"run {run.id[:8]} ({run.name}) has no executed notebook: only runs of a notebook job "
                            "(the sidebar's Run, `tesla run-notebook`) have one, stored when the notebook ends")
    target = project.path / EXECUTED_DIR / f"{_UNSAFE.sub('-', run.name).strip('-') or 'run'}-{run.id[:8]}.ipynb"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            tmp.write_bytes(run.load_artifact(NOTEBOOK_ARTIFACT))
    return target


def set_model_stage(project: Project, name: str, version: int | str, stage: str) -> dict[str, Any]:
    """Move model ``name`` v``version`` to ``stage`` (``production`` archives the previous production version);
    returns ``{name, version, stage}``.

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> project = Project.init(tempfile.mkdtemp())
    >>> run = project.start_run(name="r")
    >>> _ = project.registry.register_model("digits", run_id=run.id, artifact=run.log_artifact("m", b"x"))
    >>> set_model_stage(project, "digits", "1", "production")
    {'name': 'digits', 'version': 1, 'stage': 'production'}
    """
    try:
        number = int(version)
    except (TypeError, ValueError):
        raise ConfigError(f"a model version is a number such as 1; got {version!r}") from None
    moved = project.registry.set_stage(name, number, stage)
    return {"name": moved.name, "version": int(moved.version), "stage": moved.stage}
