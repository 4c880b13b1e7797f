"""``tesla.ui.RunsBrowser(project)``: the Runs view as an ipywidget (layout over
:class:`~tesla_lab.ui.state.RunsState`).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> from tesla_lab.store.annotations import run_tags
>>> project = Project.init(tempfile.mkdtemp())
>>> with project.start_run(name="a") as run:
...     run.log_metric("loss", 0.5, step=0)
>>> browser = RunsBrowser(project)
>>> browser.select.value = (run.id,)
>>> browser.plot.outputs[0]["data"]["text/plain"]
'<plotly figure: >'
>>> browser.tags.value = "baseline, tt"; browser.save_tags.click()
>>> run_tags(run)
['baseline', 'tt']
"""

from __future__ import annotations

from typing import Any

from tesla_lab.store import Project
from tesla_lab.ui.state.formatting import html_table, readable
from tesla_lab.ui.state.runs import RunsState
from tesla_lab.ui.widgets.common import show_figure, show_status, status_line, table_html, widgets

__all__ = ["RunsBrowser"]


class RunsBrowser(widgets.VBox):
    """The project's runs (size, compression, numbers rounded for reading with the full value on hover); select
    several for one chart per metric and one comparison table (differing rows marked); edit one run's tags and
    note, archive the selected runs; promote one to production.

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
        self.search = widgets.Text(placeholder="name, tag or note", description="Search")
        self.smoothing = widgets.FloatSlider(value=s.smoothing, min=0.0, max=0.95, step=0.05, description="Smoothing")
        self.log_y = widgets.Checkbox(value=s.log_y, description="log scale")
        self.plot = widgets.Output()
        self.scatter = widgets.Output()
        self.compare = widgets.HTML()
        # one selected run's tags and note (RunsState.set_tags / set_note: the store's annotations, as in the
        # dashboard); Archive hides every selected run from the list (kept in the store)
        self.tags = widgets.Text(placeholder="baseline, tt-8", description="Tags", disabled=True)
        self.save_tags = widgets.Button(description="Save tags", icon="tag", disabled=True)
        self.note = widgets.Text(placeholder="what this run taught you", description="Note", disabled=True,
                                 layout=widgets.Layout(width="420px"))
        self.save_note = widgets.Button(description="Save note", icon="pencil", disabled=True)
        self.archive_button = widgets.Button(description="Archive", icon="archive", disabled=True,
                                             tooltip="hide the selected runs from the list (kept in the store)")
        self.model_name = widgets.Text(placeholder="registry name (default: the run's)", description="Model")
        # width auto: the default 148 px button cuts the label to "Promote to produ..."
        self.promote_button = widgets.Button(description="Promote to production", icon="rocket",
                                             button_style="success",
                                             layout=widgets.Layout(width="auto", min_width="max-content"))
        self.status = status_line()
        self.models = widgets.HTML()
        super().__init__([
            widgets.HTML("<h3>Runs</h3>"), widgets.HBox([self.refresh_button, self.search]), self.table,
            widgets.HBox([self.select, widgets.VBox([self.smoothing, self.log_y])]),
            widgets.HBox([self.tags, self.save_tags, self.note, self.save_note, self.archive_button]), self.plot,
            self.compare,
            self.scatter, widgets.HBox([self.model_name, self.promote_button]), self.status,
            widgets.HTML("<b>Model registry</b>"), self.models,
        ], **kwargs)
        self._busy = False
        self.refresh_button.on_click(lambda _: s.refresh())
        self.select.observe(self._selected, names="value")
        self.search.observe(lambda c: setattr(s, "search", c["new"]), names="value")
        self.smoothing.observe(lambda c: setattr(s, "smoothing", c["new"]), names="value")
        self.log_y.observe(lambda c: setattr(s, "log_y", c["new"]), names="value")
        self.promote_button.on_click(lambda _: s.promote(name=self.model_name.value or None))
        self.save_tags.on_click(lambda _: s.set_tags(self.tags.value))
        self.save_note.on_click(lambda _: s.set_note(self.note.value))
        self.archive_button.on_click(lambda _: s.archive())
        s.param.watch(self._table_changed, ["table", "search"])
        s.param.watch(self._selection_changed, ["selected"])
        s.param.watch(lambda *_: show_figure(self.plot, s.figure() if s.selected else None), ["smoothing", "log_y"])
        s.param.watch(lambda *_: show_status(self.status, error=s.error, message=s.message), ["error", "message"])
        self._table_changed()

    def _selected(self, change: Any) -> None:
        if not self._busy:
            self.state.selected = list(change["new"])

    def _table_changed(self, *_: Any) -> None:
        s = self.state
        shown = s.display_table()
        text = shown.map(readable)
        if "compression" in shown.columns:
            text["compression"] = [f"{v:.1f}x" if v == v and v is not None else "" for v in shown["compression"]]
        self.table.value = html_table(text, titles=shown.astype(str))
        options = []
        if s.table is not None:
            options = [(f"{r['name']} ({r['id'][:8]}, {r['status']})", r["id"]) for _, r in s.filtered().iterrows()]
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
        show_figure(self.plot, s.figure() if s.selected else None)
        show_figure(self.scatter, s.scatter())
        frame, differs = s.compare_display()
        self.compare.value = html_table(frame, highlight=differs) if not frame.empty else ""
        one = len(s.selected) == 1
        self.tags.value, self.note.value = s.annotations()
        for editor in (self.tags, self.save_tags, self.note, self.save_note):
            editor.disabled = not one
        self.archive_button.disabled = not s.selected
