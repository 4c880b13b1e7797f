"""The dashboard's Runs page (layout over :class:`~tesla_lab.ui.state.RunsState`).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> with project.start_run(name="a", params={"n_params": 1200}) as run:
...     run.log_metrics({"loss": 0.5, "val_loss": 0.6, "accuracy": 0.9}, step=0)
>>> page = RunsPage(RunsState(project))
>>> page.table.selection = [0]
>>> page.state.selected == [run.id], page.plot.visible, page.compare.pagination
(True, True, None)
>>> page.table.selection = []
>>> page.plot.visible, page.details.visible
(False, False)
"""

from __future__ import annotations

import threading
from typing import Any

from tesla_lab.ui.pages.common import pn, set_table, status_line, sync, table
from tesla_lab.ui.state.runs import RunsState

__all__ = ["RunsPage"]

# numbers rounded to 4 significant digits for reading; the full value shows on hover (the cell's title)
_ROUNDED = ('<span title="<%= value %>"><%= (value === null || value === undefined || value !== value) ? "" : '
            'Number(Number(value).toPrecision(4)).toLocaleString("en-US", {maximumFractionDigits: 6}) %></span>')
_RATIO = ('<span title="<%= value %>"><%= (value === null || value === undefined || value !== value) ? "" : '
          'Number(value).toFixed(1) + "x" %></span>')
_TEXT = '<span title="<%= value %>"><%= value %></span>'
# every column gets a share of the width and its text wraps: at 1440 px nothing is cut off or scrolls sideways
_WIDTHS = {"id": "7.5%", "name": "11.5%", "status": "6.5%", "epochs": "6%", "resumed": "6%", "params": "6%",
           "compression": "9.5%", "dataset": "6%", "family": "7%", "tags": "7%", "note": "9%", "by": "6%"}
_METRIC_WIDTH = "7.5%"
_WRAP = [":host .tabulator {font-size: 13px;}",
         ":host .tabulator-row .tabulator-cell {white-space: normal !important; overflow-wrap: break-word;"
         " text-overflow: clip !important;}",
         ":host .tabulator-col .tabulator-col-title {white-space: normal !important; text-overflow: clip !important;}",
         # the sort arrow only on the sorted column: it no longer eats 25 px of every narrow header
         ":host .tabulator-col[aria-sort='none'] .tabulator-col-sorter {display: none !important;}",
         ":host .tabulator-col[aria-sort='none'] .tabulator-col-title {padding-right: 0 !important;}"]


def _heading(text: str, level: int = 4) -> Any:
    # plain HTML, not Markdown: a Markdown heading gets an anchor ("Runs ¶") and its re-render restyles the page
    return pn.pane.HTML(f"<h{level} style='margin:6px 0'>{text}</h{level}>", sizing_mode="stretch_width")


def _formatters(columns: list[str]) -> dict[str, Any]:
    from bokeh.models.widgets.tables import HTMLTemplateFormatter

    out: dict[str, Any] = {}
    for c in columns:
        if c == "compression":
            out[c] = HTMLTemplateFormatter(template=_RATIO)
        elif c == "params" or c.startswith(("test_", "val_")) or c in ("loss", "accuracy"):
            out[c] = HTMLTemplateFormatter(template=_ROUNDED)
        elif c in ("name", "tags", "note", "by"):
            out[c] = HTMLTemplateFormatter(template=_TEXT)
    return out


class RunsPage(pn.viewable.Viewer):
    """Filterable runs table with size and compression; tags, notes, archive, delete; per-metric charts and one
    comparison table of the selected runs; accuracy vs parameters; one run's test report and system metrics; an
    AutoML study's parallel coordinates; promotion to production."""

    def __init__(self, state: RunsState, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = state
        self.refresh = pn.widgets.Button(label="Refresh", width=100, align="end")
        self.search = sync(pn.widgets.TextInput(label="Search", placeholder="name, tag or note", width=220), s,
                           "search")
        self.filters = [pn.widgets.Select.from_param(s.param[name], label=label, width=140)
                        for name, label in (("status_filter", "Status"), ("dataset_filter", "Dataset"),
                                            ("family_filter", "Family"))]
        self.table = table(selectable="checkbox", page_size=15, css_classes=["tesla-runs-table"],
                           layout="fit_columns", stylesheets=_WRAP)
        self.tags = pn.widgets.TextInput(label="Tags", placeholder="baseline, tt-8", width=200)
        self.save_tags = pn.widgets.Button(label="Save tags", width=90, align="end")
        self.note = pn.widgets.TextInput(label="Note", placeholder="what this run taught you", width=320)
        self.save_note = pn.widgets.Button(label="Save note", width=90, align="end")
        self.archive = pn.widgets.Button(label="Archive", width=90, align="end")
        self.delete = pn.widgets.Button(label="Delete…", color="danger", variant="outline", width=90,
                                        align="end")
        self.confirm = pn.widgets.Button(label="Yes, delete it and its artifacts", color="danger", visible=False,
                                         align="end")
        self.cancel = pn.widgets.Button(label="Cancel", visible=False, align="end", width=80)
        self.actions = pn.Row(self.tags, self.save_tags, self.note, self.save_note, self.archive, self.delete,
                              self.confirm, self.cancel, visible=False, css_classes=["tesla-run-actions"])
        self.smoothing = pn.widgets.FloatSlider.from_param(s.param.smoothing, label="Smoothing", step=0.05,
                                                           width=220)
        self.log_y = pn.widgets.Checkbox.from_param(s.param.log_y, label="log scale", align="end",
                                                    css_classes=["tesla-log-y"])
        self.plot = pn.pane.Plotly(None, sizing_mode="stretch_width", visible=False, css_classes=["tesla-overlay"])
        self.compare = table(show_index=False, pagination=None, css_classes=["tesla-compare"], layout="fit_data_fill",
                             selectable=False,
                             hidden_columns=["index"], stylesheets=_WRAP[:3])
        # rows whose values differ between the runs (marked "≠" in the first column) get an amber background
        self.compare.style.apply(lambda row: ["background-color: #fff3cd" if row.iloc[0] else ""] * len(row), axis=1)
        self.score = pn.widgets.Select.from_param(s.param.score, label="Score (y)", width=180)
        self.scatter = pn.pane.Plotly(None, sizing_mode="stretch_width", visible=False,
                                      css_classes=["tesla-scatter"])
        self.report = pn.pane.Plotly(None, sizing_mode="stretch_width", css_classes=["tesla-report"])
        self.per_class = table(pagination=None, css_classes=["tesla-per-class"], width=420, sizing_mode="fixed")
        self.system = pn.pane.Plotly(None, sizing_mode="stretch_width", css_classes=["tesla-system"])
        self.study = pn.pane.Plotly(None, sizing_mode="stretch_width", css_classes=["tesla-study"])
        self.details = pn.Column(_heading("The selected run"), pn.Row(self.report, self.per_class), self.system,
                                 self.study, visible=False, sizing_mode="stretch_width",
                                 css_classes=["tesla-run-details"])
        self.model_name = pn.widgets.TextInput.from_param(s.param.model_name, label="Registry name",
                                                          placeholder="default: the run's model name")
        self.promote = pn.widgets.Button(label="Promote to production", color="success", align="end")
        self.status = status_line(s)
        self.models = table(page_size=5)
        self._ids: list[str] = []
        self._busy = False
        self._lock = threading.Lock()
        self._callback: Any = None
        self.refresh.on_click(lambda _: s.refresh())
        self.promote.on_click(lambda _: s.promote())
        # value_input: what is typed now (value follows only on Enter or blur, which may come after the click)
        self.save_tags.on_click(lambda _: s.set_tags(self.tags.value_input))
        self.save_note.on_click(lambda _: s.set_note(self.note.value_input))
        self.archive.on_click(lambda _: s.archive())
        self.delete.on_click(lambda _: s.request_delete())
        self.confirm.on_click(lambda _: s.confirm_delete())
        self.cancel.on_click(lambda _: s.cancel_delete())
        self.table.param.watch(self._selected, "selection")
        s.param.watch(self._table_changed, ["table", "search", "status_filter", "dataset_filter", "family_filter"])
        s.param.watch(self._selection_changed, ["selected"])
        s.param.watch(self._curves_changed, ["smoothing", "log_y"])
        s.param.watch(self._scatter_changed, ["score"])
        s.param.watch(self._delete_changed, ["pending_delete"])
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
            with self._lock:  # events run on worker threads: read the latest selection, not this event's
                self.state.selected = [self._ids[i] for i in self.table.selection if i < len(self._ids)]

    def _table_changed(self, *_: Any) -> None:
        s = self.state
        shown = s.display_table()
        self._ids = list(s.filtered()["id"])
        self._busy = True
        try:
            self.table.formatters = _formatters(list(shown.columns))
            self.table.widths = {c: _WIDTHS.get(c, _METRIC_WIDTH) for c in shown.columns}
            self.table.titles = {c: c.replace("_", " ") for c in shown.columns if "_" in c}
            # the resumed count only where some run was resumed
            self.table.hidden_columns = [] if shown.empty or shown["resumed"].any() else ["resumed"]
            set_table(self.table, shown)
            self.table.selection = [self._ids.index(i) for i in s.selected if i in self._ids]
        finally:
            self._busy = False
        models = s.models()
        set_table(self.models, models[["name", "version", "stage", "run_id", "description"]] if len(models)
                  else models)
        self._selection_changed()

    def _curves_changed(self, *_: Any) -> None:
        self._show(self.plot, self.state.figure() if self.state.selected else None)

    def _scatter_changed(self, *_: Any) -> None:
        self._show(self.scatter, self.state.scatter())

    def _show(self, pane: Any, fig: Any) -> None:
        # hide rather than send None: a Plotly pane emptied while shown raised a JavaScript error (issue 11)
        if fig is not None:
            pane.object = fig
        pane.visible = fig is not None

    def _selection_changed(self, *_: Any) -> None:
        s = self.state
        self._curves_changed()
        self._scatter_changed()
        frame, differs = s.compare_display()
        if not frame.empty:
            frame.insert(0, "≠", ["≠" if d else "" for d in differs])
            self.compare.value = frame
        self.compare.visible = not frame.empty
        one = len(s.selected) == 1
        self.actions.visible = one
        if one:
            tags, note = s.annotations()
            self.tags.param.update(value=tags, value_input=tags)
            self.note.param.update(value=note, value_input=note)
        report, system, study = (s.report_figure(), s.system_figure(), s.study_figure()) if one else (None,) * 3
        self._show(self.report, report)
        per_class = s.per_class() if one else None
        if per_class is not None and not per_class.empty:
            set_table(self.per_class, per_class.round({"precision": 4, "recall": 4, "f1": 4}))
        self.per_class.visible = per_class is not None and not per_class.empty
        self._show(self.system, system)
        self._show(self.study, study)
        self.details.visible = one and any(f is not None for f in (report, system, study))
        if s.pending_delete and s.pending_delete not in s.selected:
            s.cancel_delete()

    def _delete_changed(self, *_: Any) -> None:
        pending = bool(self.state.pending_delete)
        self.confirm.visible = self.cancel.visible = pending
        self.delete.visible = not pending

    def __panel__(self) -> Any:
        return pn.Column(
            _heading("Runs", 2), pn.Row(self.search, *self.filters, self.refresh), self.table, self.actions,
            self.status, _heading("Compare the selected runs"), pn.Row(self.smoothing, self.log_y), self.plot,
            self.compare, _heading("Accuracy vs parameters"), self.score, self.scatter, self.details,
            _heading("Model registry"), pn.Row(self.model_name, self.promote), self.models,
            sizing_mode="stretch_width", css_classes=["tesla-page-runs"],
        )
