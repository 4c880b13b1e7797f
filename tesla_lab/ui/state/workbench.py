"""The whole workbench: the five states on one project, linked (the data decides the model's inputs and outputs
and what Explore shows; a launch takes the data and the model; a finished run appears in Runs).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> bench = WorkbenchState(Project.init(tempfile.mkdtemp()))
>>> _ = bench.data.load_sample("iris")
>>> bench.model.n_inputs, bench.model.n_outputs, bench.explore.target
(4, 3, 'target')
>>> bench.data.target = None
>>> bench.launch() is None, bench.error
(True, 'cannot start training: choose a target column (what the model learns to predict)')
"""

from __future__ import annotations

import logging
from typing import Any

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.jobs import TrainingJob
from tesla_lab.store import Project
from tesla_lab.ui.state.base import StateBase, action, param
from tesla_lab.ui.state.data import DataState
from tesla_lab.ui.state.explore import ExploreState
from tesla_lab.ui.state.model import ModelState
from tesla_lab.ui.state.runs import RunsState
from tesla_lab.ui.state.session import DATA_KEYS, MODEL_KEYS, load_ui_state, save_ui_state
from tesla_lab.ui.state.train import TrainState

__all__ = ["WorkbenchState"]

logger = logging.getLogger(__name__)


class WorkbenchState(StateBase):
    """Data → Explore → Model → Train → Runs on one project.

    Args:
        project: the project (its store records dataset versions, runs and models).
        sample: the sample dataset loaded at start (``None``: start empty).
        persist: keep the state server-side in the project's ``.tesla/ui.json`` (the dashboard does): the data
            source, target and features, the model and its settings, the followed run; a new workbench on the
            project (a browser reload) starts from there instead of ``sample``.
    """

    page = param.Selector(default="Data", objects=["Data", "Explore", "Model", "Train", "Runs"])

    def __init__(self, project: Project, *, sample: str | None = "digits", persist: bool = False,
                 **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(project, Project):
            raise ConfigError(f"the workbench needs a tesla_lab.store.Project; got {type(project).__name__}")
        self.project = project
        self._auto_name = "tesla-model"
        self.data = DataState(project)
        self.explore = ExploreState()
        self.model = ModelState()
        self.train = TrainState(project)
        self.runs = RunsState(project)
        self.data.param.watch(self._data_changed, ["frame", "target", "features", "image_shape"])
        self.train.param.watch(self._run_ended, ["active"])
        self.persist = persist
        self._restoring = True
        saved = load_ui_state(project) if persist else {}
        if not self._restore_data(saved.get("data") or {}) and sample is not None:
            self.data.load_sample(sample)
        self._restore_model(saved.get("model") or {})
        for status in ("running", "queued"):  # a new session picks up a run started in an earlier one
            live = project.runs(status=status)
            if not live.empty:
                self.train.watch(str(live["id"].iloc[0]))
                break
        else:
            if saved.get("run_id") and self.train.watch(str(saved["run_id"])) is None:
                self.train.error = ""  # the run was deleted meanwhile: nothing to show
        self._restoring = False
        if persist:
            self.data.param.watch(self._save, list(DATA_KEYS))
            self.model.param.watch(self._save, list(MODEL_KEYS))
            self.train.param.watch(self._save, ["run_id"])
            self._save()

    # ------------------------------------------------------------------------------------------- persistence
    def ui_state(self) -> dict[str, Any]:
        """What ``persist=True`` keeps in ``.tesla/ui.json``: data source and columns, model, followed run."""
        data = {k: getattr(self.data, k) for k in DATA_KEYS}
        data["features"] = list(data["features"] or [])
        model = {k: getattr(self.model, k) for k in MODEL_KEYS}
        return {"data": data, "model": model, "run_id": self.train.run_id}

    def _save(self, *_: Any) -> None:
        if self._restoring:
            return
        try:
            save_ui_state(self.project, self.ui_state())
        except OSError as exc:  # a read-only project still works, it only forgets
            logger.warning("could not keep the workbench state in %s: %s", self.project.path, exc)

    def _restore_data(self, saved: dict[str, Any]) -> bool:
        origin = str(saved.get("origin") or "")
        if saved.get("dataset_version") is not None and saved.get("dataset_name"):  # what was stored, exactly
            loaded = self.data.load_version(str(saved["dataset_name"]), int(saved["dataset_version"]))
        elif origin.startswith("sample:"):
            loaded = self.data.load_sample(origin.removeprefix("sample:"))
        elif saved.get("source") == "path" and saved.get("path"):
            loaded = self.data.load_path(str(saved["path"]), str(saved.get("query") or ""))
        else:
            return False  # nothing saved, or an upload never stored: it cannot be read again
        if loaded is None:  # the file or version is gone: say so, start from the sample
            logger.warning("could not restore the workbench data (%s): %s", origin, self.data.error)
            self.data.error = ""
            return False
        if saved.get("image_shape") and self.data.image_shape is None:  # a stored version of image rows
            self.data.image_shape = tuple(saved["image_shape"])
            self._data_changed()
        columns = list(self.data.param.target.objects)
        if saved.get("target") in columns:
            self.data.target = saved["target"]
        features = [c for c in saved.get("features") or [] if c in columns and c != self.data.target]
        if features:
            self.data.features = features
        return True

    def _restore_model(self, saved: dict[str, Any]) -> None:
        values = {k: saved[k] for k in MODEL_KEYS if k in saved}
        if not values:
            return
        try:
            self.model.param.update(**values)
        except Exception as exc:  # noqa: BLE001 - a stale file must not break the workbench
            logger.warning("could not restore the model settings (%s); using the defaults", exc)
        self._auto_name = self.model.model_name
        self.model.refresh()

    def _data_changed(self, *_: Any) -> None:
        d = self.data
        self.explore.param.update(frame=d.frame, target=d.target, image_shape=d.image_shape)
        self.model.use_data(n_inputs=d.n_inputs(), n_outputs=d.n_outputs(), task=d.task or None,
                            image_shape=d.image_shape)
        auto = f"{d.dataset_name}-tt" if d.dataset_name else "tesla-model"
        if self.model.model_name.strip() in (self._auto_name, "tesla-model", ""):  # not edited by the user
            self.model.model_name = auto
        self._auto_name = auto

    def _run_ended(self, event: Any) -> None:
        if event.old and not event.new:  # active -> inactive: the run ended, show it in Runs
            self.runs.refresh()

    @action("cannot start training")
    def launch(self) -> TrainingJob:
        """Train the current model on the current data in a background process; returns the job."""
        if not self.data.validate():
            raise DataError(self.data.error.split(": ", 1)[-1])
        if not self.model.refresh():
            raise ConfigError(self.model.error)
        dataset = self.data.dataset_ref()
        config = self.model.train_config(dataset=dataset, target=self.data.target, features=list(self.data.features))
        job = self.train.launch(config, name=self.model.model_name.strip())
        if job is None:
            raise ConfigError(self.train.error.split(": ", 1)[-1])
        self.runs.refresh()
        return job
