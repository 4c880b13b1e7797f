"""Small pieces the ipywidgets views share: a status line, tables as HTML, plotly figures in an Output widget.

>>> status = status_line()
>>> show_status(status, error="rank must be >= 1")
>>> "rank must be &gt;= 1" in status.value
True
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from tesla_lab.ui._deps import require

widgets = require("ipywidgets")

__all__ = ["widgets", "status_line", "show_status", "table_html", "show_figure", "link_state"]

_STYLE = "max-height: 320px; overflow: auto; font-size: 12px"


def status_line() -> Any:
    """An empty HTML line for errors and messages."""
    return widgets.HTML(value="")


def show_status(line: Any, *, error: str = "", message: str = "") -> None:
    """Show ``error`` in red (it wins) or ``message`` in green on ``line``."""
    if error:
        line.value = f'<div class="tesla-error" style="color:#b00020;white-space:pre-wrap">⚠ {html.escape(error)}</div>'
    elif message:
        line.value = f'<div class="tesla-message" style="color:#1b5e20">{html.escape(message)}</div>'
    else:
        line.value = ""


def table_html(frame: pd.DataFrame | None, *, index: bool = False, max_rows: int = 50) -> str:
    """A DataFrame as a scrollable HTML table ('' for None)."""
    if frame is None:
        return ""
    body = frame.head(max_rows).to_html(index=index, border=0, classes="tesla-table", na_rep="")
    return f'<div style="{_STYLE}">{body}</div>'


def show_figure(out: Any, fig: Any) -> None:
    """Replace what ``out`` (an Output widget) shows by the plotly figure ``fig`` (or nothing for None); works
    with and without a running kernel."""
    if fig is None:
        out.outputs = ()
        return
    data = {"application/vnd.plotly.v1+json": fig.to_plotly_json(),
            "text/html": fig.to_html(include_plotlyjs="cdn", full_html=False),
            "text/plain": f"<plotly figure: {fig.layout.title.text or ''}>"}
    out.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


def link_state(state: Any, widget: Any, name: str, *, to_state: Any = None, to_widget: Any = None) -> None:
    """Two-way link between ``state.<name>`` and ``widget.value`` (optional converters each way)."""
    guard = {"busy": False}

    def widget_changed(change: Any) -> None:
        if guard["busy"]:
            return
        guard["busy"] = True
        try:
            setattr(state, name, to_state(change["new"]) if to_state else change["new"])
        finally:
            guard["busy"] = False

    def state_changed(event: Any) -> None:
        if guard["busy"]:
            return
        guard["busy"] = True
        try:
            widget.value = to_widget(event.new) if to_widget else event.new
        finally:
            guard["busy"] = False

    widget.observe(widget_changed, names="value")
    state.param.watch(state_changed, [name])
