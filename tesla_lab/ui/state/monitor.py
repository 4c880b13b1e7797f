"""The Monitor view's state: what a running model server (``tesla serve``) reports on ``GET /metrics`` — request
and error counts, latency percentiles and per-feature PSI drift against the training data — and which production
models of the project could be served.

:meth:`MonitorState.refresh` never raises: an unreachable server, a wrong token or an odd answer becomes a readable
``error`` and the numbers are cleared (stale figures for a server that is down would mislead).

>>> state = MonitorState(url="http://127.0.0.1:9")   # nothing listens on the discard port
>>> state.refresh() is None, state.requests, state.error.startswith("cannot read the server metrics: no server")
(True, 0, True)
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

__all__ = ["MonitorState", "MonitorError", "DRIFT_COLUMNS", "LATENCY_KEYS"]

DRIFT_COLUMNS = ["feature", "psi", "status"]
LATENCY_KEYS = ("p50", "p90", "p99")
_TIMEOUT_S = 5.0


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
            raise MonitorError(f"no server answers at {self.url} ({reason}); start one with `tesla serve -m NAME` "
                               "or check the URL") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise MonitorError(f"the server at {self.url} did not answer JSON on /metrics; is it a TESLA model "
                               "server (tesla serve)?") from exc
        if not isinstance(data, dict) or "requests" not in data:
            raise MonitorError(f"the answer of {target} has no request counts; is it a TESLA model server?")
        return data

    def _clear(self) -> None:
        self.param.update(requests=0, errors=0, latency=_empty_latency(), drift=_empty_drift(), drift_status="n/a")

    @action("cannot read the server metrics")
    def refresh(self) -> dict[str, Any]:
        """Read ``/metrics`` and fill ``requests``, ``errors``, ``latency``, ``drift``; on failure clear them and set
        ``error`` (returns None then)."""
        try:
            data = self.fetch()
        except TeslaError:
            self._clear()
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
            requests=int(data.get("requests") or 0),
            errors=int(data.get("errors") or 0),
            latency={k: latency_ms.get(k) for k in LATENCY_KEYS},
            drift=drift,
            drift_status=str(drift_info.get("status", "n/a")),
            updated=datetime.now().strftime("%H:%M:%S"),
        )
        self.message = (f"{self.requests} requests, {self.errors} errors, drift {self.drift_status} "
                        f"(updated {self.updated})")
        return data

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

        models = self.project.registry.list_models()
        if models.empty:
            return pd.DataFrame(columns=columns)
        rows = []
        for _, row in models[models["stage"] == "production"].iterrows():
            folder = export_dir_for(self.project, str(row["name"]), int(row["version"]))
            rows.append({"name": row["name"], "version": int(row["version"]), "run_id": row["run_id"],
                         "export_dir": str(folder), "exported": (folder / "metadata.json").exists(),
                         "command": f"tesla serve -m {row['name']}"})
        return pd.DataFrame(rows, columns=columns)
