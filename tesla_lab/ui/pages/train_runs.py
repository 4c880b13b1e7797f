"""The Train page's list of recent runs (layout over :class:`~tesla_lab.ui.state.recent.RecentRunsState`): it
refreshes by itself while the Train tab is shown, so a run started from the CLI or a notebook appears within
seconds; clicking a row follows that run in Train.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> from tesla_lab.ui.state.train import TrainState
>>> project = Project.init(tempfile.mkdtemp())
>>> run = project.start_run(name="elsewhere")
>>> runs = RecentRuns(RecentRunsState(project), TrainState(project))
>>> runs.table.value["name"].tolist()
['elsewhere']
>>> runs.table.selection = [0]
>>> runs.train.run_name
'elsewhere'
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.pages.common import pn, set_table, table
from tesla_lab.ui.state.recent import RecentRunsState
from tesla_lab.ui.state.train import TrainState

__all__ = ["RecentRuns", "RecentRunsState"]


class RecentRuns(pn.viewable.Viewer):
    """The newest runs of the project; a click on one follows it in ``train`` (unless a run is active there)."""

    def __init__(self, state: RecentRunsState, train: TrainState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.train = train
        self.table = table(page_size=state.limit, selectable=1, css_classes=["tesla-recent-runs"])
        self._ids: list[str] = []
        self._busy = False
        self._callback: Any = None
        self.table.param.watch(self._clicked, "selection")
        state.param.watch(self._changed, ["table"])
        self._changed()

    def tick(self) -> None:
        """One periodic check (a re-read only when a run was added, started, ended or resumed)."""
        self.state.poll()

    def start_polling(self, period_ms: int = 2000) -> None:
        """Check the store every ``period_ms`` (the dashboard does while the Train tab is shown)."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.tick, period=period_ms)

    def stop_polling(self) -> None:
        """Stop checking (the Train tab was left)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    def _changed(self, *_: Any) -> None:
        frame = self.state.table
        self._ids = [] if frame is None else list(frame["id"])
        # the short id under "run": Tabulator keys its rows on a column named "id". A text column even when empty:
        # a list assigned to an empty frame is float64, Tabulator then formats the column as numbers and the first
        # run that appears in a new project shows "NaN" as its id
        shown = None if frame is None else frame.assign(run=frame["id"].astype(str).str[:8])[
            ["run", "name", "status", "epochs", "created"]]
        self._busy = True
        try:
            set_table(self.table, shown)
            self.table.selection = []
        finally:
            self._busy = False

    def _clicked(self, event: Any) -> None:
        if self._busy or not event.new or event.new[0] >= len(self._ids):
            return
        if self.train.active:
            self.train.message = (f"run {self.train.run_name} is still {self.train.status}; it stays shown here "
                                  "(see every run in Runs)")
            return
        self.train.watch(self._ids[event.new[0]])

    def __panel__(self) -> Any:
        return pn.Column("#### Recent runs (click one to follow it here)", self.table, sizing_mode="stretch_width",
                         css_classes=["tesla-train-recent"])
