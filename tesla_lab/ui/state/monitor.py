"""The Monitor view's state: what a running model server (``tesla serve``) reports on ``GET /metrics`` — request
and error counts, latency percentiles and per-feature PSI drift against the training data — and which production
models of the project could be served.

:meth:`MonitorState.refresh` never raises: a wrong token or an odd answer becomes a readable ``error``; no server
running yet is not an error but the normal start, told as a neutral ``hint`` (how to start one); either way the
numbers are cleared (stale figures for a server that is down would mislead). :meth:`MonitorState.banner` says what
the numbers mean: drift alerts red, warnings and failed requests amber, never a green banner over an alert, and
why drift is ``n/a`` (too few rows yet, with the count; no training profile in the export).

>>> state = MonitorState(url="http://127.0.0.1:9")   # nothing listens on the discard port
>>> state.refresh() is None, state.requests, state.error, state.banner()[0]
(True, 0, '', 'secondary')
>>> state.hint.startswith("no model server answers at http://127.0.0.1:9 yet")
True
>>> state.drift.columns.tolist()
['feature', 'psi', 'status']
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError, MonitorError, TeslaError
from tesla_lab.store import Project
from tesla_lab.ui import plots
from tesla_lab.ui.state.base import StateBase, action, param

__all__ = ["MonitorState", "MonitorError", "ServerUnreachable", "DRIFT_COLUMNS", "LATENCY_KEYS", "DRIFT_MIN_ROWS"]

DRIFT_COLUMNS = ["feature", "psi", "status"]
LATENCY_KEYS = ("p50", "p90", "p99")
_TIMEOUT_S = 5.0
DRIFT_MIN_ROWS = 100  # the model server's default: below this many recent rows its PSI is 'n/a'


def _features(drift: pd.DataFrame, status: str) -> str:
    """The first five features with ``status``, comma-separated."""
    return ", ".join(drift[drift["status"] == status]["feature"].astype(str).head(5))


class ServerUnreachable(MonitorError):
    """Nothing answers at the server URL (no server started yet, or it ended)."""


def _empty_drift() -> pd.DataFrame:
    return pd.DataFrame({"feature": pd.Series(dtype=str), "psi": pd.Series(dtype=float),
                         "status": pd.Series(dtype=str)})


def _empty_latency() -> dict[str, float | None]:
    return dict.fromkeys(LATENCY_KEYS)


def _detail(exc: urllib.error.HTTPError) -> str:
    """The ``detail`` of a FastAPI error body, else the HTTP reason."""
    try:
        body = json.loads(exc.read().decode("utf-8", "replace") or "{}")
        detail = body.get("detail") if isinstance(body, dict) else None
    except (ValueError, OSError):
        detail = None
    return str(detail) if detail else str(exc.reason)


class MonitorState(StateBase):
    """Live metrics of one served model, for the Monitor page and widget.

    Args:
        project: optional; lets :meth:`deployed` list the project's production models.
        url: the server's base URL (``tesla serve`` binds ``http://127.0.0.1:8000`` by default).
        token: the server's bearer token, when it was started with ``--token``.
    """

    url = param.String(default="http://127.0.0.1:8000", doc="base URL of the model server")
    token = param.String(default="", doc="bearer token ('' : none); sent as 'Authorization: Bearer <token>'")
    requests = param.Integer(default=0, doc="requests the server answered since it started")
    errors = param.Integer(default=0, doc="of those, answers with a 4xx/5xx status")
    latency = param.Dict(default=_empty_latency(), doc="latency of /predict in ms: p50, p90, p99 (None: no request)")
    drift = param.DataFrame(default=_empty_drift(), doc="one row per feature: feature, psi, status")
    drift_status = param.String(default="n/a", doc="the worst feature status: ok / warn / alert / n/a")
    updated = param.String(default="", doc="time of the last successful refresh ('' : none yet)")
    hint = param.String(default="", doc="a neutral note: no server answers yet, and how to start one")
    drift_rows = param.Integer(default=0, doc="recent rows the drift is computed over")
    drift_min_rows = param.Integer(default=DRIFT_MIN_ROWS, doc="rows needed before the drift is computed")
    drift_available = param.Boolean(default=True, doc="False when the export has no training profile")

    def __init__(self, project: Project | None = None, **params: Any) -> None:
        if params.get("token") is None:
            params.pop("token", None)
        super().__init__(**params)
        if project is not None and not isinstance(project, Project):
            raise ConfigError(f"MonitorState needs a tesla_lab.store.Project or None; got {type(project).__name__}")
        self.project = project

    # ------------------------------------------------------------------------------------------- metrics
    def _metrics_url(self) -> str:
        url = (self.url or "").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"the server URL must start with http:// or https://; got {self.url!r}, e.g. "
                              "'http://127.0.0.1:8000'")
        return f"{url}/metrics"

    def fetch(self) -> dict[str, Any]:
        """The JSON body of ``GET {url}/metrics`` (raises :class:`MonitorError` when it cannot be read)."""
        target = self._metrics_url()
        headers = {"Accept": "application/json"}
        if self.token.strip():
            headers["Authorization"] = f"Bearer {self.token.strip()}"
        request = urllib.request.Request(target, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                hint = ("set the server's token" if not self.token.strip() else "the token was refused; check it")
                raise MonitorError(f"the server at {self.url} answered 401 Unauthorized "
                                   f"({_detail(exc)}); {hint}") from exc
            raise MonitorError(f"the server at {self.url} answered {exc.code} ({_detail(exc)}); is it a TESLA model "
                               "server (tesla serve)?") from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServerUnreachable(f"no server answers at {self.url} ({reason}); start one with `tesla serve -m "
                                    "NAME` or check the URL") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise MonitorError(f"the server at {self.url} did not answer JSON on /metrics; is it a TESLA model "
                               "server (tesla serve)?") from exc
        if not isinstance(data, dict) or "requests" not in data:
            raise MonitorError(f"the answer of {target} has no request counts; is it a TESLA model server?")
        return data

    def _clear(self) -> None:
        self.param.update(requests=0, errors=0, latency=_empty_latency(), drift=_empty_drift(), drift_status="n/a",
                          drift_rows=0, updated="")

    @action("cannot read the server metrics")
    def refresh(self) -> dict[str, Any] | None:
        """Read ``/metrics`` and fill ``requests``, ``errors``, ``latency``, ``drift``; on failure clear them and set
        ``error``, or ``hint`` when no server runs (returns None then)."""
        try:
            data = self.fetch()
        except ServerUnreachable:
            self._clear()
            self.param.update(error="", message="", hint=f"no model server answers at {self.url} yet: start one "
                              "from the project folder with the command shown under Production models (`tesla "
                              "serve -m NAME`); its requests, latency and input drift then show here")
            return None
        except TeslaError:
            self._clear()
            self.hint = ""
            raise
        latency_ms = data.get("latency_ms") or {}
        drift_info = data.get("drift") or {}
        features = drift_info.get("features") or []
        drift = pd.DataFrame([{"feature": str(f.get("feature")),
                               "psi": float("nan") if f.get("psi") is None else float(f["psi"]),
                               "status": str(f.get("status", "n/a"))} for f in features], columns=DRIFT_COLUMNS)
        if drift.empty:
            drift = _empty_drift()
        self.param.update(
            hint="",
            drift_rows=int(drift_info.get("n_recent") or 0),
            drift_min_rows=int(drift_info.get("min_samples") or DRIFT_MIN_ROWS),
            drift_available=bool(drift_info.get("available", True)),
            requests=int(data.get("requests") or 0),
            errors=int(data.get("errors") or 0),
            latency={k: latency_ms.get(k) for k in LATENCY_KEYS},
            drift=drift,
            drift_status=str(drift_info.get("status", "n/a")),
            updated=datetime.now().strftime("%H:%M:%S"),
        )
        self.message = ""  # the banner tells what the numbers mean (a green line over an alert would mislead)
        return data

    def banner(self) -> tuple[str, str]:
        """``(alert type, text)`` of the Monitor's banner: ``danger`` for a drift alert, ``warning`` for a drift
        warning or failed requests, ``info`` while drift is ``n/a`` (and why), ``success`` only when all is well,
        ``secondary`` (neutral) before any server answered."""
        if not self.updated:
            return "secondary", self.hint or "press Refresh to read the model server's metrics"
        head = f"{self.requests:,} requests, {self.errors:,} failed (updated {self.updated})"
        failing = f"{self.errors:,} of {self.requests:,} requests failed; " if self.errors else ""
        if self.drift_status == "alert":
            return "danger", (f"Drift alert: {_features(self.drift, 'alert')} (PSI >= 0.25): recent inputs no longer "
                              f"look like the training data; check the data source or retrain. {failing}{head}")
        if self.drift_status == "warn":
            return "warning", (f"Drift warning: {_features(self.drift, 'warn')} (PSI >= 0.1): recent inputs are "
                               f"shifting. {failing}{head}")
        if self.drift_status == "n/a" or self.drift.empty:
            if not self.drift_available:
                why = "this export has no training profile (its training data was not stored), so drift cannot be "
                why += "computed"
            else:
                why = (f"fewer than {self.drift_min_rows} rows yet ({self.drift_rows} so far): PSI over a small "
                       "sample would flag drift that is not there")
            return ("warning" if self.errors else "info"), f"{failing}Drift n/a: {why}. {head}"
        if self.errors:
            return "warning", f"{failing}no drift. {head}"
        return "success", f"No drift: every feature's PSI is below 0.1 over the last {self.drift_rows} rows. {head}"

    def figure(self) -> Any:
        """Bars of the PSI per feature colored by status (``None`` before any drift was reported)."""
        if self.drift is None or self.drift.empty:
            return None
        return plots.drift_bars(self.drift, title=f"Input drift (PSI per feature): {self.drift_status}")

    # ------------------------------------------------------------------------------------------- registry
    def deployed(self) -> pd.DataFrame:
        """The project's production models: ``name, version, run_id, export_dir, exported, command`` (the
        ``tesla serve`` command that exports if needed and serves it). Empty without a project."""
        columns = ["name", "version", "run_id", "export_dir", "exported", "command"]
        if self.project is None:
            return pd.DataFrame(columns=columns)
        from tesla_lab.serve.deploy import export_dir_for  # the serving layer (torch) only when asked

        # only the production rows (a partial unique index holds them): cheap enough to run every couple of seconds
        production = self.project.db.query("SELECT name, version, run_id FROM models WHERE stage = 'production' "
                                           "ORDER BY name")
        rows = []
        for row in production:
            folder = export_dir_for(self.project, str(row["name"]), int(row["version"]))
            rows.append({"name": row["name"], "version": int(row["version"]), "run_id": row["run_id"],
                         "export_dir": str(folder), "exported": (folder / "metadata.json").exists(),
                         "command": f"tesla serve -m {row['name']}"})
        return pd.DataFrame(rows, columns=columns)
