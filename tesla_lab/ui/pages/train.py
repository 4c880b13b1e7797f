"""The dashboard's Train page (layout over :class:`~tesla_lab.ui.state.TrainState`): launch, progress, live
curves, throughput, device, Stop and Resume (continues a stopped, failed or crashed run in place; disabled for a
finished run). Polling the store runs from ``pn.state.add_periodic_callback``;
training itself runs in another process (:mod:`tesla_lab.jobs`).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> page = TrainPage(TrainState(Project.init(tempfile.mkdtemp())))
>>> page.stop.disabled, page.info.object
(True, 'no run yet')
"""

from __future__ import annotations

import logging
from typing import Any

from tesla_lab.ui.pages.common import pn, status_line
from tesla_lab.ui.state.train import TrainState
from tesla_lab.ui.state.workbench import WorkbenchState

__all__ = ["TrainPage"]

logger = logging.getLogger(__name__)


class TrainPage(pn.viewable.Viewer):
    """Follow (and, with a ``workbench``, launch) training runs.

    Args:
        state: the training state shown.
        workbench: when given, a Train button launches its current model on its current data.
    """

    def __init__(self, state: TrainState, workbench: WorkbenchState | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = state
        self.workbench = workbench
        self.launch = pn.widgets.Button(label="Train", color="primary", width=140, visible=workbench is not None)
        self.stop = pn.widgets.Button(label="Stop", color="danger", width=100)
        self.resume = pn.widgets.Button(label="Resume", width=100)
        self.progress = pn.indicators.Progress(value=0, max=100, sizing_mode="stretch_width", bar_color="primary",
                                               css_classes=["tesla-progress"])
        self.info = pn.pane.Markdown("no run yet", css_classes=["tesla-train-info"])
        self.status = status_line(s)
        self.launch_status = status_line(workbench) if workbench is not None else pn.Spacer(height=0)
        # the worker's last log lines: long lines wrap inside the box instead of running off the page
        self.run_error = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width",
                                       css_classes=["tesla-run-error"],
                                       stylesheets=["pre, code { white-space: pre-wrap; overflow-wrap: anywhere; }"])
        self.plot = pn.pane.Plotly(None, sizing_mode="stretch_width", visible=False, css_classes=["tesla-curves"],
                                   config={"responsive": True})
        self.smoothing = pn.widgets.FloatSlider.from_param(s.param.smoothing, label="Smoothing", step=0.05, width=220)
        self.log_y = pn.widgets.Checkbox.from_param(s.param.log_y, label="log scale", align="end",
                                                    css_classes=["tesla-train-log-y"])
        self._drawn: tuple[str, str, int] | None = None
        self._callback: Any = None
        self.launch.on_click(lambda _: self.workbench.launch() if self.workbench is not None else None)
        self.stop.on_click(lambda _: s.stop())
        self.resume.on_click(lambda _: s.resume())
        s.param.watch(self._changed, ["status", "epoch", "progress", "history", "throughput", "device", "run_error",
                                      "stopping", "active", "run_id", "resumed"])
        s.param.watch(self._redraw, ["smoothing", "log_y"])
        if workbench is not None:
            workbench.model.param.watch(self._launchable, ["can_launch"])
        self._launchable()
        self._changed()

    # ------------------------------------------------------------------------------------------- polling
    def tick(self) -> None:
        """One periodic poll (only while a run is active: an idle page costs nothing)."""
        if self.state.active:
            self.state.poll()

    def start_polling(self, period_ms: int = 1000) -> None:
        """Poll the store every ``period_ms`` while the page's session lives (call inside a served session)."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.tick, period=period_ms)

    # ------------------------------------------------------------------------------------------- layout
    def _launchable(self, *_: Any) -> None:
        wb = self.workbench
        self.launch.disabled = wb is None or not wb.model.can_launch or self.state.active

    def _changed(self, *_: Any) -> None:
        s = self.state
        self.info.object = s.status_text()
        self.progress.value = int(round(s.progress or 0))
        self.progress.bar_color = {"finished": "success", "failed": "danger", "crashed": "danger",
                                   "stopped": "warning"}.get(s.status, "primary")
        self.stop.disabled = not s.active or s.stopping
        self.resume.disabled = not s.can_resume()
        self.run_error.param.update(object=f"Training {s.status}:\n\n```\n{s.run_error[-3000:]}\n```",
                                    visible=bool(s.run_error))
        self._launchable()
        drawn = (s.run_id, s.status, -1 if s.history is None else len(s.history))
        if drawn != self._drawn:  # a new epoch arrived, or the run ended
            self._drawn = drawn
            self._redraw()

    def _redraw(self, *_: Any) -> None:
        fig = self.state.figure()
        if fig is not None:
            self.plot.object = fig
            self.plot.visible = True
        # Between two figures (a Resume starting, a new run before its first epoch) the last chart stays: a Plotly
        # chart hidden and shown again could come back at a fraction of its width with the legend over the axes.

    def __panel__(self) -> Any:
        return pn.Column(
            "## Train", pn.Row(self.launch, self.stop, self.resume), self.launch_status, self.status, self.info,
            self.progress, self.run_error, pn.Row(self.smoothing, self.log_y), self.plot, sizing_mode="stretch_width",
            css_classes=["tesla-page-train"],
        )
