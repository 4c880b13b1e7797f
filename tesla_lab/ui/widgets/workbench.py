"""``tesla.ui.Workbench()``: the five views in tabs, sharing one :class:`~tesla_lab.ui.state.WorkbenchState`.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> bench = Workbench(Project.init(tempfile.mkdtemp()), sample="iris")
>>> [bench.tabs.get_title(i) for i in range(5)], bench.model.state.n_outputs
(['Data', 'Explore', 'Model', 'Train', 'Runs'], 3)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.store import Project
from tesla_lab.ui.project import open_project
from tesla_lab.ui.state.workbench import WorkbenchState
from tesla_lab.ui.widgets.common import show_status, status_line, widgets
from tesla_lab.ui.widgets.data import DataLoader
from tesla_lab.ui.widgets.explore import Explorer
from tesla_lab.ui.widgets.model import ModelBuilder
from tesla_lab.ui.widgets.runs import RunsBrowser
from tesla_lab.ui.widgets.train import TrainingMonitor

__all__ = ["Workbench"]


class Workbench(widgets.VBox):
    """Data → Explore → Model → Train → Runs in one widget.

    Args:
        project: a Project or its path; ``None`` opens the project around the current folder, or the demo project.
        sample: the sample dataset loaded at start.
        autopoll: follow launched runs from a background thread (turn off in tests to poll by hand).
    """

    def __init__(self, project: Project | str | None = None, *, sample: str | None = "digits",
                 autopoll: bool = True, **kwargs: Any) -> None:
        if not isinstance(project, Project):
            project = open_project(project)
        self.state = WorkbenchState(project, sample=sample)
        s = self.state
        self.data = DataLoader(state=s.data, sample=None)
        self.explore = Explorer(state=s.explore)
        self.model = ModelBuilder(state=s.model)
        self.monitor = TrainingMonitor(state=s.train, autopoll=autopoll)
        self.runs = RunsBrowser(state=s.runs)
        self.launch_button = widgets.Button(description="Train", icon="play", button_style="primary")
        self.launch_status = status_line()
        self.tabs = widgets.Tab(children=[
            self.data, self.explore, self.model,
            widgets.VBox([widgets.HBox([self.launch_button, self.launch_status]), self.monitor]), self.runs,
        ], titles=("Data", "Explore", "Model", "Train", "Runs"))
        super().__init__([widgets.HTML(f"<h2>TESLA Lab workbench: {project.name}</h2>"), self.tabs], **kwargs)
        self.launch_button.on_click(lambda _: self.launch())
        s.model.param.watch(lambda *_: self._launchable(), ["can_launch"])
        s.param.watch(lambda *_: show_status(self.launch_status, error=s.error, message=s.message),
                      ["error", "message"])
        self._launchable()

    def _launchable(self) -> None:
        self.launch_button.disabled = not self.state.model.can_launch

    def launch(self) -> Any:
        """Start training the current model on the current data (the Train button)."""
        job = self.state.launch()
        if job is not None:
            self.tabs.selected_index = 3
        return job
