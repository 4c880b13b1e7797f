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

from typing import Any

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.jobs import TrainingJob
from tesla_lab.store import Project
from tesla_lab.ui.state.base import StateBase, action, param
from tesla_lab.ui.state.data import DataState
from tesla_lab.ui.state.explore import ExploreState
from tesla_lab.ui.state.model import ModelState
from tesla_lab.ui.state.runs import RunsState
from tesla_lab.ui.state.train import TrainState

__all__ = ["WorkbenchState"]


class WorkbenchState(StateBase):
    """Data → Explore → Model → Train → Runs on one project.

    Args:
        project: the project (its store records dataset versions, runs and models).
        sample: the sample dataset loaded at start (``None``: start empty).
    """

    page = param.Selector(default="Data", objects=["Data", "Explore", "Model", "Train", "Runs"])

    def __init__(self, project: Project, *, sample: str | None = "digits", **params: Any) -> None:
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
        if sample is not None:
            self.data.load_sample(sample)
        for status in ("running", "queued"):  # a new session picks up a run started in an earlier one
            live = project.runs(status=status)
            if not live.empty:
                self.train.watch(str(live["id"].iloc[0]))
                break

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
