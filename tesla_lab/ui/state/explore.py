"""The Explore view's state: which plot of which columns, and the plotly figure for it.

>>> from tesla_lab import data
>>> df, info = data.load_sample("digits")
>>> state = ExploreState(frame=df, target="target", image_shape=info.image_shape)
>>> state.kinds()
['histogram', 'scatter matrix', 'correlation', 'class balance', 'images']
>>> state.column  # the most informative column first (highest variance), not an all-zero corner pixel
'pixel_5_2'
>>> state.uses_color()
True
>>> state.kind = "correlation"
>>> state.uses_color()  # the correlation plot has no colours: the view hides the checkbox
False
>>> state.kind = "images"
>>> len(state.figure().layout.annotations)
24
"""

from __future__ import annotations

from typing import Any

from tesla_lab.errors import DataError
from tesla_lab.ui import plots
from tesla_lab.ui.state.base import StateBase, action, param

__all__ = ["ExploreState", "KINDS"]

KINDS = ("histogram", "scatter matrix", "correlation", "class balance", "images")


class ExploreState(StateBase):
    """Plots of a table; ``figure()`` gives the plotly figure of the chosen ``kind`` (``None`` and ``error`` set
    when it cannot be drawn)."""

    frame = param.DataFrame(default=None, allow_None=True)
    target = param.String(default=None, allow_None=True, doc="the target column (colours and class balance)")
    image_shape = param.Parameter(default=None, doc="(H, W) when rows are images")
    kind = param.Selector(default="histogram", objects=list(KINDS))
    column = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False,
                            doc="the histogram's column")
    columns = param.ListSelector(default=[], objects=[], check_on_set=False, doc="the scatter matrix's columns")
    color_by_target = param.Boolean(default=True)

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._frame_changed()

    @param.depends("frame", "target", watch=True)
    def _frame_changed(self) -> None:
        numeric = [] if self.frame is None else plots.numeric_columns(self.frame)
        options = [c for c in numeric if c != self.target]
        self.param.column.objects = options
        self.param.columns.objects = options
        ranked = self.informative(options)
        self.param.update(column=ranked[0] if ranked else None, columns=ranked[:4])
        if self.kind not in self.kinds():
            self.kind = "histogram"

    def informative(self, columns: list[str]) -> list[str]:
        """``columns`` by decreasing variance (ties keep the table's order): the histogram and the scatter matrix
        open on what varies most, never on a constant column such as a blank corner pixel."""
        if self.frame is None or not columns:
            return list(columns)
        variance = self.frame[columns].var(numeric_only=True).reindex(columns).fillna(-1.0)
        return sorted(columns, key=lambda c: -float(variance[c]))

    def uses_color(self) -> bool:
        """Whether the current ``kind`` draws with ``color_by_target`` (histogram and scatter matrix only; the
        correlation, class balance and image plots do not, so the view hides the checkbox there)."""
        return self.kind in ("histogram", "scatter matrix")

    def kinds(self) -> list[str]:
        """The plots that make sense for this table (class balance needs a target, images an image shape)."""
        out = ["histogram", "scatter matrix", "correlation"]
        if self.target:
            out.append("class balance")
        if self.image_shape:
            out.append("images")
        return out

    def _color(self) -> str | None:
        if not self.color_by_target or not self.target or self.frame is None or self.target not in self.frame:
            return None
        return self.target if self.frame[self.target].nunique() <= 20 else None  # a regression target: no colours

    @action("cannot draw the plot")
    def figure(self) -> Any:
        """The plotly figure of ``kind`` for the current table."""
        if self.frame is None:
            raise DataError("no data to plot yet; load a dataset first")
        if self.kind == "histogram":
            return plots.histogram(self.frame, self.column, color=self._color())
        if self.kind == "scatter matrix":
            return plots.scatter_matrix(self.frame, self.columns, color=self._color())
        if self.kind == "correlation":
            return plots.correlation_heatmap(self.frame)
        if self.kind == "class balance":
            return plots.class_balance(self.frame, self.target)
        if not self.image_shape:
            raise DataError("this table has no image shape; images can be shown for image data such as digits")
        return plots.image_grid(self.frame, self.image_shape, target=self.target)
