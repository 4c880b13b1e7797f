"""The dashboard's Monitor page (layout over :class:`~tesla_lab.ui.state.MonitorState`): live metrics of a model
server started with ``tesla serve``, refreshed every 5 s while the page is shown.

>>> page = MonitorPage(MonitorState(url="http://127.0.0.1:9"))
>>> page.refresh.clicks += 1
>>> page.status.alert_type, page.requests.value
('danger', 0)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.pages.common import pn, set_table, status_line, sync, table
from tesla_lab.ui.state.monitor import MonitorState

__all__ = ["MonitorPage"]


def _ms(value: Any) -> float:
    return float("nan") if value is None else float(value)


class MonitorPage(pn.viewable.Viewer):
    """Server URL and token, Refresh, request / error / latency indicators, PSI drift bars and table, and the
    project's production models with the command that serves each."""

    def __init__(self, state: MonitorState, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = state
        self.url = sync(pn.widgets.TextInput(label="Server URL", width=320), s, "url")
        self.token = sync(pn.widgets.PasswordInput(label="Token (optional)", width=240), s, "token")
        self.refresh = pn.widgets.Button(label="Refresh", width=100, align="end")
        self.auto = pn.widgets.Checkbox(label="Refresh every 5 s", value=True, align="end")
        self.requests = pn.indicators.Number(label="Requests", value=0, format="{value:,.0f}", font_size="28pt")
        self.errors = pn.indicators.Number(label="Errors", value=0, format="{value:,.0f}", font_size="28pt",
                                           colors=[(0.5, "black"), (float("inf"), "#c62828")])
        self.p50 = pn.indicators.Number(label="p50 latency", value=float("nan"), format="{value:.1f} ms",
                                        nan_format="-", font_size="28pt")
        self.p99 = pn.indicators.Number(label="p99 latency", value=float("nan"), format="{value:.1f} ms",
                                        nan_format="-", font_size="28pt")
        self.plot = pn.pane.Plotly(None, sizing_mode="stretch_width", visible=False, css_classes=["tesla-drift"])
        self.drift = table(page_size=20)
        self.status = status_line(s)
        self.deployed = table(page_size=5)
        self._callback: Any = None
        self.refresh.on_click(lambda _: self.tick(force=True))
        s.param.watch(self._changed, ["requests", "errors", "latency", "drift"])
        self._changed()
        set_table(self.deployed, s.deployed())

    # ------------------------------------------------------------------------------------------- polling
    def tick(self, force: bool = False) -> None:
        """One refresh (a periodic one only while "Refresh every 5 s" is ticked)."""
        if force or self.auto.value:
            self.state.refresh()

    def start_polling(self, period_ms: int = 5000) -> None:
        """Refresh every ``period_ms`` while the page's session lives (call inside a served session)."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.tick, period=period_ms)

    def stop_polling(self) -> None:
        """Stop the periodic refresh (the page was left)."""
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    # ------------------------------------------------------------------------------------------- layout
    def _changed(self, *_: Any) -> None:
        s = self.state
        self.requests.value = s.requests
        self.errors.value = s.errors
        self.p50.value = _ms(s.latency.get("p50"))
        self.p99.value = _ms(s.latency.get("p99"))
        fig = s.figure()
        self.plot.param.update(object=fig, visible=fig is not None)
        set_table(self.drift, s.drift)
        self.drift.visible = not s.drift.empty

    def __panel__(self) -> Any:
        return pn.Column(
            "## Monitor", pn.Row(self.url, self.token, self.refresh, self.auto), self.status,
            pn.Row(self.requests, self.errors, self.p50, self.p99), self.plot, self.drift,
            "#### Production models", "Start one with the command shown, from the project folder.", self.deployed,
            sizing_mode="stretch_width", css_classes=["tesla-page-monitor"],
        )
