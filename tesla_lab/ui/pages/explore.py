"""The dashboard's Explore page (layout over :class:`~tesla_lab.ui.state.ExploreState`).

>>> import pandas as pd
>>> page = ExplorePage(ExploreState(frame=pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0], "y": [0, 1]}), target="y"))
>>> page.state.kind = "class balance"
>>> page.plot.object.data[0].type
'bar'
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.pages.common import pn, status_line, sync
from tesla_lab.ui.state.explore import ExploreState

__all__ = ["ExplorePage"]


class ExplorePage(pn.viewable.Viewer):
    """Histogram, scatter matrix, correlation heat map, class balance and image grid (plotly)."""

    def __init__(self, state: ExploreState, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = state
        self.kind = sync(pn.widgets.RadioButtonGroup(options=s.kinds(), color="primary"), s, "kind")
        self.column = pn.widgets.Select.from_param(s.param.column, label="Column")
        self.columns = pn.widgets.MultiChoice.from_param(s.param.columns, label="Columns (up to 8)",
                                                         sizing_mode="stretch_width")
        self.color = pn.widgets.Checkbox.from_param(s.param.color_by_target, label="colour by target")
        self.status = status_line(s)
        self.plot = pn.pane.Plotly(None, sizing_mode="stretch_width", config={"responsive": True})
        s.param.watch(self._options, ["frame", "target", "image_shape"])
        s.param.watch(self.redraw, ["kind", "column", "columns", "color_by_target", "frame", "target",
                                    "image_shape"])
        self._options()
        self.redraw()

    def _options(self, *_: Any) -> None:
        self.kind.options = self.state.kinds()

    def redraw(self, *_: Any) -> None:
        """Draw the chosen plot again."""
        s = self.state
        self.column.visible = s.kind == "histogram"
        self.columns.visible = s.kind == "scatter matrix"
        self.color.visible = s.uses_color()  # a checkbox that changes nothing is not shown
        self.plot.object = s.figure() if s.frame is not None else None

    def __panel__(self) -> Any:
        return pn.Column("## Explore", self.kind, pn.Row(self.column, self.color), self.columns, self.status,
                         self.plot, sizing_mode="stretch_width", css_classes=["tesla-page-explore"])
