"""The dashboard's Monitor page (layout over :class:`~tesla_lab.ui.state.MonitorState`): live metrics of a model
server started with ``tesla serve``, refreshed every 5 s while the page is shown, under a banner that says what
they mean (red for a drift alert, amber for a warning, neutral while no server runs); and the project's production
models, re-checked every 2 s while the page is shown (a model promoted, or exported by ``tesla serve``, appears
without a click).

>>> page = MonitorPage(MonitorState(url="http://127.0.0.1:9"))
>>> page.refresh.clicks += 1
>>> page.status.visible, page.banner.alert_type, page.requests.value
(False, 'secondary', 0)
"""

from __future__ import annotations

from typing import Any

from tesla_lab.ui.pages.common import pn, set_table, status_line, sync, table
from tesla_lab.ui.state.monitor import MonitorState

__all__ = ["MonitorPage"]

NO_PRODUCTION_MODEL = ("No production model yet: promote a run's model in Runs, or run `tesla deploy -m NAME -p "
                       "production` in the project folder; it shows here with the command that serves it.")
SERVE_ONE = "Serve one with the command shown, from the project folder (it exports the model first when needed)."


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
        self.banner = pn.pane.Alert("", alert_type="secondary", sizing_mode="stretch_width",
                                    css_classes=["tesla-monitor-banner"])
        self.deployed = table(page_size=5, css_classes=["tesla-deployed"])
        self.deployed_note = pn.pane.Markdown(NO_PRODUCTION_MODEL, css_classes=["tesla-deployed-note"])
        self._deployed_seen: Any = None
        self._callback: Any = None
        self._deployed_callback: Any = None
        self.refresh.on_click(lambda _: self.tick(force=True))
        s.param.watch(self._changed, ["requests", "errors", "latency", "drift", "hint", "updated"])
        self._changed()
        self.check_deployed()

    # ------------------------------------------------------------------------------------------- polling
    def tick(self, force: bool = False) -> None:
        """One refresh (a periodic one only while "Refresh every 5 s" is ticked)."""
        if force or self.auto.value:
            self.state.refresh()

    def check_deployed(self) -> bool:
        """Re-show the production models when they changed (promoted, archived, exported); returns whether."""
        try:
            frame = self.state.deployed()
        except Exception as exc:  # noqa: BLE001 - a store hiccup must not stop the periodic callback
            self.state.error = f"cannot read the production models: {exc}"
            return False
        seen = frame.to_json()
        if seen == self._deployed_seen:
            return False
        self._deployed_seen = seen
        self.deployed_note.object = NO_PRODUCTION_MODEL if frame.empty else SERVE_ONE
        # words, not Tabulator's tick / cross icons; short ids and paths: every column fits at 1440 px
        root = None if self.state.project is None else str(self.state.project.path) + "/"
        set_table(self.deployed, frame.assign(
            exported=frame["exported"].map({True: "yes", False: "not yet"}),
            run_id=frame["run_id"].map(lambda r: str(r)[:8] if r else ""),
            export_dir=frame["export_dir"].map(lambda d: d.removeprefix(root) if root else d)))
        return True

    def start_polling(self, period_ms: int = 5000, deployed_ms: int = 2000) -> None:
        """Refresh the metrics every ``period_ms`` and check the production models every ``deployed_ms`` while
        the page is shown (call inside a served session)."""
        if self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.tick, period=period_ms)
        if self._deployed_callback is None:
            self._deployed_callback = pn.state.add_periodic_callback(self.check_deployed, period=deployed_ms)

    def stop_polling(self) -> None:
        """Stop the periodic refreshes (the page was left)."""
        for name in ("_callback", "_deployed_callback"):
            callback = getattr(self, name)
            if callback is not None:
                callback.stop()
                setattr(self, name, None)

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
        kind, text = s.banner()
        self.banner.param.update(alert_type=kind, object=text)

    def __panel__(self) -> Any:
        return pn.Column(
            "## Monitor", pn.Row(self.url, self.token, self.refresh, self.auto), self.status, self.banner,
            pn.Row(self.requests, self.errors, self.p50, self.p99), self.plot, self.drift,
            pn.pane.Markdown("#### Production models"), self.deployed_note, self.deployed,
            sizing_mode="stretch_width", css_classes=["tesla-page-monitor"],
        )
