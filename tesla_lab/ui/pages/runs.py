"""The dashboard's Runs page (layout over :class:`~tesla_lab.ui.state.RunsState`).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> with project.start_run(name="a") as run:
...     run.log_metric("loss", 0.5, step=0)
>>> page = RunsPage(RunsState(project))
>>> page.table.selection = [0]
>>> page.state.selected == [run.id], page.plot.object is not None
(True, True)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.pages.common import pn, set_table, status_line, table
from tesla_lab.ui.state.runs import RunsState

__all__ = ["RunsPage"]


class RunsPage(pn.viewable.Viewer):
    """Runs table; select several to overlay a metric and compare params; promote one to production."""

    def __init__(self, state: RunsState, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = state
        self.refresh = pn.widgets.Button(label="Refresh", width=100)
        self.table = table(selectable="checkbox", page_size=10, css_classes=["tesla-runs-table"])
        self.metric = pn.widgets.Select.from_param(s.param.metric, label="Metric", width=200)
        self.plot = pn.pane.Plotly(None, sizing_mode="stretch_width", visible=False, css_classes=["tesla-overlay"])
        self.compare = table(show_index=True, page_size=20)
        self.model_name = pn.widgets.TextInput.from_param(s.param.model_name, label="Registry name",
                                                          placeholder="default: the run's model name")
        self.promote = pn.widgets.Button(label="Promote to production", color="success", align="end")
        self.status = status_line(s)
        self.models = table(page_size=5)
        self._ids: list[str] = []
        self._busy = False
        self._callback: Any = None
        self.refresh.on_click(lambda _: s.refresh())
        self.promote.on_click(lambda _: s.promote())
        self.table.param.watch(self._selected, "selection")
        s.param.watch(self._table_changed, ["table"])
        s.param.watch(self._selection_changed, ["selected", "metric"])
        self._table_changed()

    def tick(self) -> None:
        """One periodic check: re-read the table only when a run was added, started, ended or resumed."""
        self.state.poll()

    def start_polling(self, period_ms: int = 2000) -> None:
        """Check the store every ``period_ms`` while the page's session lives (runs started from the CLI, a
        notebook or another browser appear by themselves)."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.tick, period=period_ms)

    def _selected(self, event: Any) -> None:
        if not self._busy:
            self.state.selected = [self._ids[i] for i in event.new if i < len(self._ids)]

    def _table_changed(self, *_: Any) -> None:
        s = self.state
        self._ids = [] if s.table is None else list(s.table["id"])
        self._busy = True
        try:
            set_table(self.table, s.display_table())
            self.table.selection = [self._ids.index(i) for i in s.selected if i in self._ids]
        finally:
            self._busy = False
        models = s.models()
        set_table(self.models, models[["name", "version", "stage", "run_id", "description"]] if len(models)
                  else models)
        self._selection_changed()

    def _selection_changed(self, *_: Any) -> None:
        s = self.state
        fig = s.figure()
        self.plot.param.update(object=fig, visible=fig is not None)
        compare = s.compare()
        set_table(self.compare, compare)
        self.compare.visible = not compare.empty

    def __panel__(self) -> Any:
        return pn.Column(
            "## Runs", self.refresh, self.table, "#### Compare the selected runs", self.metric, self.plot,
            self.compare, "#### Model registry", pn.Row(self.model_name, self.promote), self.status, self.models,
            sizing_mode="stretch_width", css_classes=["tesla-page-runs"],
        )
