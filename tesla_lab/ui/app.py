"""The Panel dashboard of one session: the five workbench pages over one :class:`~tesla_lab.ui.state.WorkbenchState`
and the Monitor page of a served model (:class:`~tesla_lab.ui.state.MonitorState`).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> app = create_app(Project.init(tempfile.mkdtemp(), name="demo"))
>>> type(app).__name__, app.title, list(app.pages)
('FastListTemplate', 'TESLA Lab: demo', ['Data', 'Explore', 'Model', 'Train', 'Runs', 'Monitor'])
"""

from __future__ import annotations

import html
import logging
from typing import Any

from tesla_lab.store import Project
from tesla_lab.ui.pages.common import pn
from tesla_lab.ui.pages.data import DataPage
from tesla_lab.ui.pages.explore import ExplorePage
from tesla_lab.ui.pages.model import ModelPage
from tesla_lab.ui.pages.monitor import MonitorPage
from tesla_lab.ui.pages.runs import RunsPage
from tesla_lab.ui.pages.train import TrainPage
from tesla_lab.ui.pages.train_runs import RecentRuns, RecentRunsState
from tesla_lab.ui.state.monitor import MonitorState
from tesla_lab.ui.state.workbench import WorkbenchState

__all__ = ["create_app", "PAGES"]

logger = logging.getLogger(__name__)

PAGES = ("Data", "Explore", "Model", "Train", "Runs", "Monitor")
_SIDEBAR = """
**Project** `{name}`

`{path}`

1. **Data**: pick a sample, upload a file or give a path; choose the target.
2. **Explore**: distributions, correlations, classes, images.
3. **Model**: layers (Dense, TT, Conv2D, ...) and training settings; the parameter count and TT compression
   update as you edit.
4. **Train**: runs in a background process; live curves; Stop keeps the last checkpoint; Resume continues it.
5. **Runs**: compare runs and promote a model to production.
6. **Monitor**: requests, latency and input drift of a model served with `tesla serve -m NAME`.
"""


def create_app(project: Project, *, sample: str | None = "digits", poll_ms: int = 1000) -> Any:
    """The dashboard for one browser session on ``project`` (a FastListTemplate with one tab per page)."""
    pn.extension("plotly", "tabulator", notifications=False)
    bench = WorkbenchState(project, sample=sample, persist=True)  # a reload finds the workbench as it was
    pages = {
        "Data": DataPage(bench.data),
        "Explore": ExplorePage(bench.explore),
        "Model": ModelPage(bench.model),
        "Train": TrainPage(bench.train, workbench=bench),
        "Runs": RunsPage(bench.runs),
        "Monitor": MonitorPage(MonitorState(project)),
    }
    recent = RecentRuns(RecentRunsState(project), bench.train)  # the Train tab's list of recent runs
    shown = {**pages, "Train": pn.Column(pages["Train"], recent, sizing_mode="stretch_width")}
    tabs = pn.Tabs(*shown.items(), dynamic=True, sizing_mode="stretch_width", css_classes=["tesla-tabs"])

    def launched(event: Any) -> None:
        if event.new:  # a run started: show it
            tabs.active = PAGES.index("Train")

    bench.train.param.watch(launched, ["active"])
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pages["Train"].start_polling(poll_ms)  # served: poll the store while this session lives
        pages["Runs"].start_polling(2 * poll_ms)  # runs started elsewhere (CLI, notebooks) appear by themselves

        def tab_shown(event: Any) -> None:
            # the model server is asked for /metrics every 5 s only while its tab is the one shown; the store's
            # production models and the recent runs are checked (one small query) while their tab is shown
            if event.new == PAGES.index("Monitor"):
                pages["Monitor"].tick()  # fresh numbers at once, not 5 s later
                pages["Monitor"].check_deployed()
                pages["Monitor"].start_polling()
            else:
                pages["Monitor"].stop_polling()
            if event.new == PAGES.index("Train"):
                recent.tick()
                recent.start_polling()
            else:
                recent.stop_polling()

        tabs.param.watch(tab_shown, ["active"])
    # the project's folder in the header, on every page: which project this dashboard shows is never a guess
    header = pn.pane.HTML(f'<span title="the project this dashboard shows">project {html.escape(str(project.path))}'
                          "</span>", css_classes=["tesla-project-path"], align="center",
                          styles={"color": "white", "font-family": "monospace", "font-size": "14px"})
    template = pn.template.FastListTemplate(
        title=f"TESLA Lab: {project.name}", sidebar=[pn.pane.Markdown(_SIDEBAR.format(name=project.name,
                                                                                       path=project.path))],
        header=[header], main=[tabs], accent="#3f51b5", sidebar_width=300,
    )
    template.workbench = bench  # for tests and debugging: the session's state
    template.pages = pages
    template.tabs = tabs
    template.recent = recent
    return template
