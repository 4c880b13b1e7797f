"""Pieces the Panel pages share: the status line bound to a state's ``error`` / ``message`` and a read-only table.

>>> from tesla_lab.ui.state.base import StateBase
>>> state = StateBase()
>>> line = status_line(state)
>>> state.error = "batch_size must be an integer >= 1; got 0"
>>> line.alert_type, line.visible, "batch_size" in line.object
('danger', True, True)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tesla_lab.ui._deps import require

pn = require("panel")

__all__ = ["pn", "status_line", "table", "set_table", "sync"]


def sync(widget: Any, state: Any, name: str) -> Any:
    """Keep ``widget.value`` and ``state.<name>`` equal both ways; returns the widget."""
    widget.value = getattr(state, name)

    def to_state(event: Any) -> None:
        if getattr(state, name) != event.new:
            setattr(state, name, event.new)

    def to_widget(event: Any) -> None:
        if widget.value != event.new:
            widget.value = event.new

    widget.param.watch(to_state, "value")
    state.param.watch(to_widget, [name])
    return widget


def status_line(state: Any) -> Any:
    """An Alert showing ``state.error`` (red) or ``state.message`` (green), hidden when both are empty."""
    alert = pn.pane.Alert("", alert_type="success", visible=False, sizing_mode="stretch_width",
                          css_classes=["tesla-status"])

    def update(*_: Any) -> None:
        if state.error:
            alert.param.update(object=state.error, alert_type="danger", visible=True)
        elif state.message:
            alert.param.update(object=state.message, alert_type="success", visible=True)
        else:
            alert.visible = False

    state.param.watch(update, ["error", "message"])
    update()
    return alert


def table(frame: pd.DataFrame | None = None, **kwargs: Any) -> Any:
    """A read-only, paginated Tabulator."""
    options = {"disabled": True, "pagination": "local", "page_size": 10, "sizing_mode": "stretch_width",
               "show_index": False, **kwargs}
    return pn.widgets.Tabulator(frame if frame is not None else pd.DataFrame(), **options)


def set_table(widget: Any, frame: pd.DataFrame | None) -> None:
    """Show ``frame`` in a Tabulator (an empty table for None); object columns become text, timestamps readable
    text (a timezone-aware column sent back by the browser would not fit its dtype again)."""
    frame = pd.DataFrame() if frame is None else frame
    frame = frame.astype({c: str for c in frame.columns if frame[c].dtype == object})
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            frame[column] = frame[column].dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")
    widget.value = frame
