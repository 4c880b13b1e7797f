"""``tesla.ui.Monitor(url=...)``: live metrics of a model server (``tesla serve``) as an ipywidget — layout over
:class:`~tesla_lab.ui.state.MonitorState`. Refresh by the button; with ``auto=True`` (and a running kernel) it also
refreshes every 5 s until :meth:`Monitor.stop` or the widget is closed.

>>> monitor = Monitor(url="http://127.0.0.1:9")
>>> monitor.refresh_button.click()  # no server yet: a neutral hint, not an error
>>> "no model server answers" in monitor.status.value, "tesla-error" in monitor.status.value, monitor.requests.value
(True, False, '0')
"""

from __future__ import annotations

import html
import logging
import threading
from typing import Any

from tesla_lab.store import Project
from tesla_lab.ui.state.monitor import MonitorState
from tesla_lab.ui.widgets.common import show_figure, show_status, status_line, table_html, widgets

_BANNER_COLORS = {"danger": "#b00020", "warning": "#8a5a00", "info": "#0d47a1", "success": "#1b5e20",
                  "secondary": "#555555"}

__all__ = ["Monitor"]

logger = logging.getLogger(__name__)


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):.1f} ms"


def _card(title: str) -> tuple[Any, Any]:
    value = widgets.Label(value="-", style={"font_size": "22px", "font_weight": "bold"})
    return value, widgets.VBox([widgets.HTML(f"<small>{title}</small>"), value],
                               layout=widgets.Layout(width="150px"))


class Monitor(widgets.VBox):
    """Requests, errors, p50/p99 latency and per-feature PSI drift of a served model.

    Args:
        url: the server's base URL (default ``http://127.0.0.1:8000``, where ``tesla serve`` binds).
        token: its bearer token, when it was started with ``--token``.
        project: optional; lists the project's production models and the command that serves each.
        auto: refresh every ``period_s`` seconds in a background thread (off by default).
        state: an existing :class:`MonitorState` to show.
    """

    def __init__(self, url: str | None = None, *, token: str | None = None, project: Project | None = None,
                 auto: bool = False, period_s: float = 5.0, state: MonitorState | None = None,
                 **kwargs: Any) -> None:
        options = {k: v for k, v in {"url": url, "token": token}.items() if v is not None}
        self.state = s = state or MonitorState(project, **options)
        self.url = widgets.Text(value=s.url, description="Server URL", layout=widgets.Layout(width="360px"))
        self.token = widgets.Password(value=s.token, description="Token")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.requests, requests_card = _card("Requests")
        self.errors, errors_card = _card("Errors")
        self.p50, p50_card = _card("p50 latency")
        self.p99, p99_card = _card("p99 latency")
        self.status = status_line()
        self.plot = widgets.Output()
        self.drift = widgets.HTML()
        self.deployed = widgets.HTML()
        super().__init__([
            widgets.HTML("<h3>Monitor</h3>"), widgets.HBox([self.url, self.token, self.refresh_button]), self.status,
            widgets.HBox([requests_card, errors_card, p50_card, p99_card]), self.plot, self.drift,
            widgets.HTML("<b>Production models</b> (start one with the command shown, from the project folder)"),
            self.deployed,
        ], **kwargs)
        self.url.observe(lambda c: setattr(s, "url", c["new"]), names="value")
        self.token.observe(lambda c: setattr(s, "token", c["new"]), names="value")
        self.refresh_button.on_click(lambda _: s.refresh())
        s.param.watch(self._changed, ["requests", "errors", "latency", "drift"])
        s.param.watch(self._status, ["error", "message", "hint", "updated", "drift", "errors"])
        self._changed()
        deployed = s.deployed()
        self.deployed.value = table_html(deployed) if len(deployed) else "<i>no production model</i>"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if auto:
            self.start(period_s)

    def _status(self, *_: Any) -> None:
        """An error in red; else the state's banner: drift alerts red, warnings amber, never green over an alert."""
        s = self.state
        if s.error:
            show_status(self.status, error=s.error)
            return
        kind, text = s.banner()
        self.status.value = (f'<div class="tesla-banner tesla-{kind}" style="color:{_BANNER_COLORS[kind]};'
                             f'white-space:pre-wrap">{html.escape(text)}</div>')

    def _changed(self, *_: Any) -> None:
        s = self.state
        self.requests.value = str(s.requests)
        self.errors.value = str(s.errors)
        self.p50.value = _ms(s.latency.get("p50"))
        self.p99.value = _ms(s.latency.get("p99"))
        show_figure(self.plot, s.figure())
        self.drift.value = table_html(s.drift) if not s.drift.empty else ""

    def start(self, period_s: float = 5.0) -> None:
        """Refresh every ``period_s`` seconds in a daemon thread (until :meth:`stop`)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()

        def loop() -> None:
            while True:
                self.state.refresh()  # never raises: failures land in state.error
                if self._stop.wait(period_s):
                    break

        self._thread = threading.Thread(target=loop, name="tesla-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the periodic refresh."""
        self._stop.set()

    def close(self) -> None:
        """Stop refreshing and close the widget."""
        self.stop()
        super().close()
