"""The Runs view's state: the project's runs, curves of several runs overlaid, params and metrics side by side,
and promoting a run's model to ``production`` in the registry. :meth:`RunsState.poll` (every 2 s in the dashboard)
re-reads the table only when a run was added, started, ended or resumed (one small query), or while one runs, so a
run started from the CLI or a notebook shows up by itself.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> for i, lr in enumerate((0.1, 0.01)):
...     with project.start_run(name=f"r{i}", params={"lr": lr}) as run:
...         run.log_metrics({"loss": 1.0 / (i + 1)}, step=0)
>>> state = RunsState(project)
>>> state.selected = list(state.table["id"])
>>> state.compare().loc[["param.lr", "loss"]]
run        r1    r0
param.lr  0.01  0.1
loss       0.5  1.0
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError
from tesla_lab.store import ModelVersion, Project
from tesla_lab.ui import plots
from tesla_lab.ui.state.base import StateBase, action, param

__all__ = ["RunsState"]

_TABLE_COLUMNS = ["id", "name", "status", "created", "duration", "device", "dataset", "dataset_version",
                  "epochs_done", "resumed"]
# what changes when a run is added, starts, ends (also crashed) or is resumed: one aggregate over the runs table
_FINGERPRINT = ("SELECT COUNT(*), MAX(created), MAX(ended), SUM(resumed), "
                "SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END), "
                "SUM(CASE WHEN status = 'queued' THEN 1 ELSE 0 END) FROM runs")  # portable: SQLite and PostgreSQL


class RunsState(StateBase):
    """Runs of one project, for the Runs page."""

    table = param.DataFrame(default=None, allow_None=True, doc="project.runs(): one row per run, newest first")
    selected = param.ListSelector(default=[], objects=[], check_on_set=False, doc="ids of the runs to compare")
    metric = param.Selector(default="loss", objects=["loss"], check_on_set=False, doc="the curve to overlay")
    model_name = param.String(default="", doc="registry name to promote under ('' : the run's name)")

    def __init__(self, project: Project, **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(project, Project):
            raise ConfigError(f"RunsState needs a tesla_lab.store.Project; got {type(project).__name__}")
        self.project = project
        self._seen: tuple[Any, ...] | None = None
        self.refresh()

    @action("cannot read the runs")
    def refresh(self) -> pd.DataFrame:
        """Re-read the runs from the store."""
        self._seen = tuple(self.project.db.query_one(_FINGERPRINT) or ())
        table = self.project.runs()
        ids = list(table["id"])
        self.param.selected.objects = ids
        self.param.update(table=table, selected=[i for i in self.selected if i in ids])
        self._metrics_changed()
        return table

    def poll(self) -> bool:
        """Refresh when something changed since the last read (a run added, started, ended, crashed or resumed)
        or while a run is running (its epochs grow); returns whether it refreshed. Also marks runs whose process
        died ``crashed``.

        >>> import tempfile
        >>> from tesla_lab.store import Project
        >>> state = RunsState(Project.init(tempfile.mkdtemp()))
        >>> state.poll(), state.project.start_run(name="from-the-cli").finish(), state.poll(), state.poll()
        (False, None, True, False)
        """
        self.project.sweep_crashed()
        seen = tuple(self.project.db.query_one(_FINGERPRINT) or ())
        if seen == self._seen and not (seen and seen[4]):
            return False
        self.refresh()
        return True

    def display_table(self) -> pd.DataFrame:
        """The table as shown: short ids, the main columns, final metrics (no params, no test_* details)."""
        if self.table is None or self.table.empty:
            return pd.DataFrame(columns=["id", "name", "status", "epochs", "resumed", "created", "duration", "device",
                                         "dataset"])
        frame = self.table
        metrics = [c for c in frame.columns if c not in _TABLE_COLUMNS and not c.startswith("param.")
                   and c in ("loss", "accuracy", "val_loss", "val_accuracy", "test_accuracy", "test_r2",
                             "test_rmse", "samples_per_sec")]
        shown = frame[["id", "name", "status", "epochs_done", "resumed", "created", "duration", "device", "dataset",
                       *metrics]].copy()
        planned = frame["param.epochs"] if "param.epochs" in frame.columns else pd.Series(None, index=frame.index)
        shown["epochs_done"] = [f"{d}/{int(p)}" if isinstance(p, (int, float)) and p == p else str(d)
                                for d, p in zip(frame["epochs_done"], planned)]
        shown = shown.rename(columns={"epochs_done": "epochs"})
        shown["id"] = shown["id"].str[:8]
        shown["created"] = shown["created"].dt.strftime("%Y-%m-%d %H:%M:%S")
        shown["duration"] = shown["duration"].round(1)
        return shown

    def _names(self) -> dict[str, str]:
        if self.table is None:
            return {}
        names = dict(zip(self.table["id"], self.table["name"]))
        counts = pd.Series(list(names.values())).value_counts()
        # runs sharing a name (versions of one model) get their short id appended
        return {i: n if counts[n] == 1 else f"{n} ({i[:6]})" for i, n in names.items()}

    @param.depends("selected", watch=True)
    def _metrics_changed(self) -> None:
        keys: set[str] = set()
        for run_id in self.selected:
            keys |= set(self.project.get_run(run_id).metrics()["key"])
        options = sorted(k for k in keys if not k.startswith("test_")) or ["loss"]
        self.param.metric.objects = options
        if self.metric not in options:
            self.metric = "loss" if "loss" in options else options[0]

    def select(self, ids: list[str]) -> None:
        """Select runs by id or unique id prefix (what the table's row selection gives)."""
        full = []
        for key in ids:
            full.append(self.project.get_run(key).id)
        self.selected = full

    def curves(self, metric: str | None = None) -> pd.DataFrame:
        """Long frame ``run, key, step, value`` of ``metric`` (default: the chosen one) for the selected runs."""
        metric = metric or self.metric
        names = self._names()
        parts = []
        for run_id in self.selected:
            m = self.project.get_run(run_id).metrics(keys=[metric])
            parts.append(m.assign(run=names.get(run_id, run_id[:8]))[["run", "key", "step", "value"]])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run", "key", "step", "value"])

    @action("cannot draw the curves")
    def figure(self) -> Any:
        """The selected runs' ``metric`` curves overlaid (``None`` when nothing is selected)."""
        frame = self.curves()
        if frame.empty:
            return None
        return plots.curves(frame, title=f"{self.metric} of {len(self.selected)} run(s)")

    def compare(self) -> pd.DataFrame:
        """Params and final metrics of the selected runs: one row per param / metric, one column per run."""
        if self.table is None or not self.selected:
            return pd.DataFrame()
        rows = self.table.set_index("id").loc[self.selected]
        keep = [c for c in rows.columns if c not in _TABLE_COLUMNS and not c.startswith("metric.")]
        keep = ["status", "dataset", *sorted(keep, key=lambda c: (not c.startswith("param."), c))]
        out = rows[keep].T
        names = self._names()
        out.columns = [names.get(i, i[:8]) for i in rows.index]
        out.columns.name = "run"
        return out.dropna(how="all")

    # ------------------------------------------------------------------------------------------- registry
    def models(self) -> pd.DataFrame:
        """The model registry: ``name, version, stage, run_id, ...``."""
        return self.project.registry.list_models()

    @action("cannot promote the model")
    def promote(self, run_id: str | None = None, name: str | None = None) -> ModelVersion:
        """Make the model of ``run_id`` (default: the single selected run) the ``production`` version of
        ``name`` (default: the model name it is registered under, else the run's name)."""
        if run_id is None:
            if len(self.selected) != 1:
                raise ConfigError(f"select exactly one run to promote; {len(self.selected)} are selected")
            run_id = self.selected[0]
        run = self.project.get_run(run_id)
        registry = self.project.registry
        name = (name or self.model_name or "").strip() or None
        versions = registry.list_models()
        mine = versions[versions["run_id"] == run.id] if not versions.empty else versions
        if name is not None:
            mine = mine[mine["name"] == name] if not mine.empty else mine
        if not mine.empty:
            row = mine.sort_values("version").iloc[-1]
            version = registry.set_stage(str(row["name"]), int(row["version"]), "production")
        else:
            if run.status != "finished" and run.status != "stopped":
                raise ConfigError(f"run {run.name} ({run.id[:8]}) is {run.status}; only a finished or stopped run "
                                  "has a model to promote")
            version = registry.register_model(name or run.name, run_id=run.id, stage="production",
                                              description=f"promoted from run {run.id[:8]} in the dashboard")
        self.message = f"{version.name} v{version.version} is now in production (run {run.name})"
        self.refresh()
        return version
