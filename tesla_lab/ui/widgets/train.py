"""``tesla.ui.TrainingMonitor(run)``: the Train view as an ipywidget (layout over
:class:`~tesla_lab.ui.state.TrainState`). A background thread polls the store while the run is active; the
notebook stays free.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> with project.start_run(name="demo", config={"epochs": 2}) as run:
...     run.log_metrics({"loss": 0.9, "samples_per_sec": 1000.0}, step=0)
>>> monitor = TrainingMonitor(run, project=project)
>>> monitor.progress.value, "finished" in monitor.info.value
(100.0, True)
"""

from __future__ import annotations

import html
import logging
import threading
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project, Run
from tesla_lab.ui.state.train import TrainState
from tesla_lab.ui.widgets.common import show_figure, show_status, status_line, widgets

__all__ = ["TrainingMonitor"]

logger = logging.getLogger(__name__)


class TrainingMonitor(widgets.VBox):
    """Progress, live loss / metric curves, throughput and device of a run, with Stop and Resume buttons.

    Args:
        run: the run to follow (a :class:`~tesla_lab.store.Run`, or an id / name with ``project``).
        project: the project (taken from ``run`` when it is a Run).
        state: an existing :class:`TrainState` (the workbench shares one).
        interval: seconds between polls of the store.
        autopoll: poll in a background thread while the run is active.
    """

    def __init__(self, run: Run | str | None = None, *, project: Project | None = None,
                 state: TrainState | None = None, interval: float = 1.0, autopoll: bool = True,
                 **kwargs: Any) -> None:
        if state is None:
            if project is None and isinstance(run, Run):
                project = Project(run.artifact_store.root.parents[1])
            if project is None:
                raise ConfigError("TrainingMonitor needs a project: pass project=... or a Run")
            state = TrainState(project, run)
        self.state = state
        self.interval = interval
        self.autopoll = autopoll
        self.info = widgets.HTML()
        self.progress = widgets.FloatProgress(value=0.0, min=0.0, max=100.0, description="epochs",
                                              layout=widgets.Layout(width="480px"))
        self.stop_button = widgets.Button(description="Stop", icon="stop", button_style="danger")
        self.resume_button = widgets.Button(description="Resume", icon="play")
        self.status = status_line()
        self.run_error = widgets.HTML()
        self.curves = widgets.Output()
        super().__init__([widgets.HTML("<h3>Training</h3>"), self.info,
                          widgets.HBox([self.progress, self.stop_button, self.resume_button]),
                          self.status, self.run_error, self.curves], **kwargs)
        self._drawn: tuple[str, str, int] | None = None
        self._thread: threading.Thread | None = None
        self.stop_button.on_click(lambda _: self.state.stop())
        self.resume_button.on_click(lambda _: self.state.resume())
        state.param.watch(self._changed, ["status", "epoch", "progress", "history", "throughput", "device",
                                          "run_error", "stopping", "error", "message", "run_id"])
        state.param.watch(self._maybe_start, ["active"])
        self._changed()
        self._maybe_start()

    # ------------------------------------------------------------------------------------------- polling
    def poll(self) -> bool:
        """Read the run from the store once (the thread does this every ``interval`` seconds)."""
        return bool(self.state.poll())

    def _loop(self) -> None:
        stop = threading.Event()
        while self.state.poll() and not stop.wait(self.interval):
            pass

    def _maybe_start(self, *_: Any) -> None:
        if not self.autopoll or not self.state.active:
            return
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._loop, name="tesla-training-monitor", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------------------- layout
    def _changed(self, *_: Any) -> None:
        s = self.state
        self.info.value = html.escape(s.status_text())
        self.progress.value = float(s.progress or 0.0)
        self.progress.bar_style = {"finished": "success", "failed": "danger", "crashed": "danger",
                                   "stopped": "warning"}.get(s.status, "")
        self.stop_button.disabled = not s.active or s.stopping
        self.resume_button.disabled = not s.can_resume()  # stopped, failed or crashed: never a finished run
        show_status(self.status, error=s.error, message=s.message)
        self.run_error.value = (f'<pre style="color:#b00020;max-height:200px;overflow:auto">'
                                f'{html.escape(s.run_error[-3000:])}</pre>' if s.run_error else "")
        drawn = (s.run_id, s.status, -1 if s.history is None else len(s.history))
        if drawn != self._drawn:  # redraw only when new values arrived or the run ended
            self._drawn = drawn
            show_figure(self.curves, s.figure())
