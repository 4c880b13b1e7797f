"""``tesla.ui.RunsBrowser(project)``: the Runs view as an ipywidget (layout over
:class:`~tesla_lab.ui.state.RunsState`).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> with project.start_run(name="a") as run:
...     run.log_metric("loss", 0.5, step=0)
>>> browser = RunsBrowser(project)
>>> browser.select.value = (run.id,)
>>> browser.plot.outputs[0]["data"]["text/plain"]
'<plotly figure: loss of 1 run(s)>'
"""

from __future__ import annotations

from typing import Any

from tesla_lab.store import Project
from tesla_lab.ui.state.runs import RunsState
from tesla_lab.ui.widgets.common import show_figure, show_status, status_line, table_html, widgets

__all__ = ["RunsBrowser"]


class RunsBrowser(widgets.VBox):
    """The project's runs; select several to overlay a metric and compare params; promote one to production.

    Args:
        project: the project whose runs are shown.
        state: an existing :class:`RunsState` (the workbench shares one).
    """

    def __init__(self, project: Project | None = None, *, state: RunsState | None = None, **kwargs: Any) -> None:
        self.state = state or RunsState(project)  # type: ignore[arg-type]
        s = self.state
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.table = widgets.HTML()
        self.select = widgets.SelectMultiple(options=[], description="Compare", rows=6,
                                             layout=widgets.Layout(width="520px"))
        self.metric = widgets.Dropdown(options=s.param.metric.objects, value=s.metric, description="Metric")
        self.plot = widgets.Output()
        self.compare = widgets.HTML()
        self.model_name = widgets.Text(placeholder="registry name (default: the run's)", description="Model")
        # width auto: the default 148 px button cuts the label to "Promote to produ..."
        self.promote_button = widgets.Button(description="Promote to production", icon="rocket",
                                             button_style="success",
                                             layout=widgets.Layout(width="auto", min_width="max-content"))
        self.status = status_line()
        self.models = widgets.HTML()
        super().__init__([
            widgets.HTML("<h3>Runs</h3>"), self.refresh_button, self.table, widgets.HBox([self.select, self.metric]),
            self.plot, self.compare, widgets.HBox([self.model_name, self.promote_button]), self.status,
            widgets.HTML("<b>Model registry</b>"), self.models,
        ], **kwargs)
        self._busy = False
        self.refresh_button.on_click(lambda _: s.refresh())
        self.select.observe(self._selected, names="value")
        self.metric.observe(lambda c: None if self._busy else setattr(s, "metric", c["new"]), names="value")
        self.promote_button.on_click(lambda _: s.promote(name=self.model_name.value or None))
        s.param.watch(self._table_changed, ["table"])
        s.param.watch(self._selection_changed, ["selected", "metric"])
        s.param.watch(lambda *_: show_status(self.status, error=s.error, message=s.message), ["error", "message"])
        self._table_changed()

    def _selected(self, change: Any) -> None:
        if not self._busy:
            self.state.selected = list(change["new"])

    def _table_changed(self, *_: Any) -> None:
        s = self.state
        self.table.value = table_html(s.display_table())
        options = []
        if s.table is not None:
            options = [(f"{r['name']} ({r['id'][:8]}, {r['status']})", r["id"]) for _, r in s.table.iterrows()]
        self._busy = True
        try:
            self.select.options = options
            self.select.value = tuple(i for i in s.selected if i in dict((v, k) for k, v in options))
        finally:
            self._busy = False
        self.models.value = table_html(s.models()[["name", "version", "stage", "run_id", "description"]])
        self._selection_changed()

    def _selection_changed(self, *_: Any) -> None:
        s = self.state
        self._busy = True
        try:
            self.metric.options = s.param.metric.objects
            self.metric.value = s.metric if s.metric in s.param.metric.objects else None
        finally:
            self._busy = False
        show_figure(self.plot, s.figure())
        self.compare.value = table_html(s.compare(), index=True, max_rows=200)
