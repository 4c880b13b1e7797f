"""``tesla.ui.Explorer(df)``: the Explore view as an ipywidget (layout over
:class:`~tesla_lab.ui.state.ExploreState`).

>>> import pandas as pd
>>> explorer = Explorer(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [3.0, 1.0, 2.0], "y": [0, 1, 0]}), target="y")
>>> explorer.kind.value = "correlation"
>>> explorer.plot.outputs[0]["data"]["application/vnd.plotly.v1+json"]["data"][0]["type"]
'heatmap'
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tesla_lab.ui.state.explore import ExploreState
from tesla_lab.ui.widgets.common import show_figure, show_status, status_line, widgets

__all__ = ["Explorer"]


class Explorer(widgets.VBox):
    """Histograms, scatter matrix, correlation heat map, class balance and (for images) an image grid.

    Args:
        frame: the table to explore.
        target: its target column (colours, class balance).
        image_shape: ``(H, W)`` when each row is an image (digits: ``(8, 8)``).
        state: an existing :class:`ExploreState` (the workbench shares one).
    """

    def __init__(self, frame: pd.DataFrame | None = None, target: str | None = None,
                 image_shape: tuple[int, int] | None = None, *, state: ExploreState | None = None,
                 **kwargs: Any) -> None:
        self.state = state or ExploreState(frame=frame, target=target, image_shape=image_shape)
        s = self.state
        self.kind = widgets.Dropdown(options=s.kinds(), value=s.kind, description="Plot")
        self.column = widgets.Dropdown(options=s.param.column.objects, value=s.column, description="Column")
        self.columns = widgets.SelectMultiple(options=s.param.columns.objects, value=tuple(s.columns),
                                              description="Columns", rows=6)
        self.color = widgets.Checkbox(value=s.color_by_target, description="colour by target")
        self.status = status_line()
        self.plot = widgets.Output()
        self.controls = widgets.HBox([self.kind, self.column, self.color])
        super().__init__([widgets.HTML("<h3>Explore</h3>"), self.controls, self.columns, self.status, self.plot],
                         **kwargs)
        self._busy = False
        for w, name in ((self.kind, "kind"), (self.column, "column"), (self.color, "color_by_target")):
            w.observe(lambda c, n=name: self._set(n, c["new"]), names="value")
        self.columns.observe(lambda c: self._set("columns", list(c["new"])), names="value")
        s.param.watch(self._options_changed, ["frame", "target", "image_shape"])
        s.param.watch(self.redraw, ["kind", "column", "columns", "color_by_target"])
        self._options_changed()

    def _set(self, name: str, value: Any) -> None:
        if not self._busy:
            setattr(self.state, name, value)

    def _options_changed(self, *_: Any) -> None:
        s = self.state
        self._busy = True
        try:
            self.kind.options = s.kinds()
            self.kind.value = s.kind
            self.column.options = s.param.column.objects
            self.column.value = s.column
            self.columns.options = s.param.columns.objects
            self.columns.value = tuple(s.columns)
        finally:
            self._busy = False
        self.redraw()

    def redraw(self, *_: Any) -> None:
        """Draw the chosen plot again."""
        s = self.state
        self.column.layout.display = "" if s.kind == "histogram" else "none"
        self.columns.layout.display = "" if s.kind == "scatter matrix" else "none"
        fig = s.figure() if s.frame is not None else None
        show_status(self.status, error=s.error)
        show_figure(self.plot, fig)
