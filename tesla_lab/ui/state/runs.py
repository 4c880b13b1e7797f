"""The Runs view's state: the project's runs (filtered by name, status, dataset, family), per-metric charts of
several runs, one comparison table with the differing params marked, accuracy against parameter count, a run's
test report (confusion matrix or predicted-vs-true) and system metrics, an AutoML study's parallel coordinates,
tags / notes / archive / delete, and promoting a run's model to ``production``. :meth:`RunsState.poll` (every 2 s
in the dashboard) re-reads the table only when a run was added, started, ended or resumed (one small query), or
while one runs, so a run started from the CLI or a notebook shows up by itself.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> for i, lr in enumerate((0.1, 0.01)):
...     with project.start_run(name=f"r{i}", params={"lr": lr, "epochs": 2}) as run:
...         run.log_metrics({"loss": 1.0 / (i + 1)}, step=0)
>>> state = RunsState(project)
>>> state.selected = list(state.table["id"])
>>> state.compare().loc[["param.lr", "loss"]]
run        r1    r0
param.lr  0.01  0.1
loss       0.5  1.0
>>> frame, differs = state.compare_display()
>>> frame[frame["field"] == "epochs"].values.tolist(), differs[list(frame["field"]).index("lr")]
([['epochs', '2', '2']], True)
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError
from tesla_lab.store import ModelVersion, Project
from tesla_lab.store.annotations import deletion_preview
from tesla_lab.ui import charts
from tesla_lab.ui.state.base import StateBase, action, param
from tesla_lab.ui.state.changes import runs_token
from tesla_lab.ui.state.formatting import compare_frame

__all__ = ["RunsState", "report_figure"]

_RUN_COLUMNS = ["id", "name", "status", "created", "duration", "device", "dataset", "dataset_version",
                "epochs_done", "resumed", "author", "git_commit", "tags", "note", "archived"]
# final metrics worth a column, best first (the first one a project has is the scatter's default y)
_SCORES = ("test_accuracy", "test_r2", "val_accuracy", "accuracy", "test_f1_macro", "test_rmse", "val_loss", "loss")
_ALL = "all"


def _column(frame: pd.DataFrame, *names: str) -> pd.Series:
    """The first of ``names`` the frame has, filled from the next ones where missing (NaN when none)."""
    out = pd.Series(float("nan"), index=frame.index, dtype=object)
    for name in reversed(names):
        if name in frame.columns:
            out = frame[name].where(frame[name].notna(), out)
    return out


class RunsState(StateBase):
    """Runs of one project, for the Runs page."""

    table = param.DataFrame(default=None, allow_None=True, doc="project.runs(): one row per run, newest first")
    selected = param.ListSelector(default=[], objects=[], check_on_set=False, doc="ids of the runs to compare")
    search = param.String(default="", doc="show runs whose name, tags or note contain this text")
    status_filter = param.Selector(default=_ALL, objects=[_ALL], check_on_set=False)
    dataset_filter = param.Selector(default=_ALL, objects=[_ALL], check_on_set=False)
    family_filter = param.Selector(default=_ALL, objects=[_ALL], check_on_set=False)
    score = param.Selector(default="loss", objects=["loss"], check_on_set=False, doc="y of the scatter vs params")
    smoothing = param.Number(default=0.0, bounds=(0.0, 0.99), doc="TensorBoard-like smoothing of the curves")
    log_y = param.Boolean(default=False, doc="log-scale y axes of the curves")
    model_name = param.String(default="", doc="registry name to promote under ('' : the run's name)")
    pending_delete = param.String(default="", doc="id of the run waiting for the delete confirmation")

    def __init__(self, project: Project, **params: Any) -> None:
        super().__init__(**params)
        if not isinstance(project, Project):
            raise ConfigError(f"RunsState needs a tesla_lab.store.Project; got {type(project).__name__}")
        self.project = project
        self._seen: tuple[Any, ...] | None = None
        self._auto_score = True  # the best score column is chosen until the user picks one
        self._refreshing = False
        self.param.watch(self._score_picked, ["score"])
        self.refresh()

    def _score_picked(self, *_: Any) -> None:
        if not self._refreshing:
            self._auto_score = False

    # ------------------------------------------------------------------------------------------- reading
    @action("cannot read the runs")
    def refresh(self) -> pd.DataFrame:
        """Re-read the runs from the store."""
        self._seen = runs_token(self.project)
        table = self.project.runs()
        ids = list(table["id"])
        self.param.selected.objects = ids
        for name, column in (("status_filter", "status"), ("dataset_filter", "dataset"),
                             ("family_filter", "param.family")):
            values = sorted({str(v) for v in table[column].dropna()}) if column in table.columns else []
            self.param[name].objects = [_ALL, *values]
        scores = [c for c in _SCORES if c in table.columns]
        self.param.score.objects = scores or ["loss"]
        if self._auto_score or self.score not in self.param.score.objects:
            self._refreshing = True
            try:
                self.score = self.param.score.objects[0]
            finally:
                self._refreshing = False
        self.param.update(table=table, selected=[i for i in self.selected if i in ids])
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
        seen = runs_token(self.project)
        if seen == self._seen and not (seen and seen[4]):
            return False
        self.refresh()
        return True

    def filtered(self) -> pd.DataFrame:
        """The runs the filters let through (search in name, tags and note; status; dataset; family)."""
        if self.table is None or self.table.empty:
            return pd.DataFrame(columns=_RUN_COLUMNS)
        frame = self.table
        keep = pd.Series(True, index=frame.index)
        text = self.search.strip().lower()
        if text:
            haystack = (frame["name"].astype(str) + " " + frame["tags"].map(lambda t: " ".join(t or [])) + " "
                        + frame["note"].fillna("").astype(str)).str.lower()
            keep &= haystack.str.contains(text, regex=False)
        for name, column in (("status_filter", "status"), ("dataset_filter", "dataset"),
                             ("family_filter", "param.family")):
            value = getattr(self, name)
            if value != _ALL and column in frame.columns:
                keep &= frame[column].astype(str) == value
        return frame[keep]

    def display_table(self) -> pd.DataFrame:
        """The table as shown: short ids, lifecycle, size (``params``, ``compression``), the two headline metrics
        as numbers (the views round them for reading), dataset, family, tags, note, who ran it (author and
        commit); newest first."""
        frame = self.filtered()
        metrics = [c for c in _SCORES if c in frame.columns][:2]
        columns = ["id", "name", "status", "epochs", "resumed", "params", "compression", *metrics, "dataset", "family",
                   "tags", "note", "by"]
        if frame.empty:
            return pd.DataFrame(columns=columns)
        shown = pd.DataFrame(index=frame.index)
        shown["id"] = frame["id"].str[:8]
        shown["name"] = frame["name"]
        shown["status"] = frame["status"]
        planned = frame["param.epochs"] if "param.epochs" in frame.columns else pd.Series(None, index=frame.index)
        shown["epochs"] = [f"{d}/{int(p)}" if isinstance(p, (int, float)) and p == p else str(d)
                           for d, p in zip(frame["epochs_done"], planned)]
        shown["resumed"] = frame["resumed"]
        shown["params"] = pd.to_numeric(_column(frame, "param.n_params", "n_params"), errors="coerce").astype("Int64")
        shown["compression"] = pd.to_numeric(_column(frame, "param.compression"), errors="coerce")
        for m in metrics:
            shown[m] = frame[m]
        shown["dataset"] = [f"{d}@{int(v)}" if isinstance(d, str) and v == v and v is not None else (d or "")
                            for d, v in zip(frame["dataset"], frame["dataset_version"])]
        shown["family"] = _column(frame, "param.family").fillna("").astype(str)
        shown["tags"] = frame["tags"].map(lambda t: ", ".join(t or []))
        shown["note"] = frame["note"].fillna("")
        commits = frame["git_commit"].fillna("").astype(str).str[:7]
        shown["by"] = [f"{a or '?'} @ {c}" if c else (a or "") for a, c in zip(frame["author"], commits)]
        return shown.reset_index(drop=True)

    def _names(self) -> dict[str, str]:
        if self.table is None:
            return {}
        names = dict(zip(self.table["id"], self.table["name"]))
        counts = pd.Series(list(names.values())).value_counts()
        # runs sharing a name (versions of one model) get their short id appended
        return {i: n if counts[n] == 1 else f"{n} ({i[:6]})" for i, n in names.items()}

    def select(self, ids: list[str]) -> None:
        """Select runs by id or unique id prefix (what the table's row selection gives)."""
        self.selected = [self.project.get_run(key).id for key in ids]

    def _one(self) -> str:
        if len(self.selected) != 1:
            raise ConfigError(f"select exactly one run; {len(self.selected)} are selected")
        return self.selected[0]

    # ------------------------------------------------------------------------------------------- charts
    def curves(self, keys: list[str] | None = None) -> pd.DataFrame:
        """Long frame ``run, key, step, value`` of the selected runs (``keys``: only those metrics; test metrics
        and system metrics are left out by default)."""
        names = self._names()
        parts = []
        for run_id in self.selected:
            m = self.project.get_run(run_id).metrics(keys=keys)
            if keys is None:
                m = m[~m["key"].str.startswith("test_") & ~m["key"].isin(charts.SYSTEM_METRICS)]
            parts.append(m.assign(run=names.get(run_id, run_id[:8]))[["run", "key", "step", "value"]])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["run", "key", "step", "value"])

    @action("cannot draw the curves")
    def figure(self) -> Any:
        """One chart per metric of the selected runs (train and validation together), smoothed and on a log
        scale as set (``None`` when nothing is selected or nothing was logged)."""
        frame = self.curves()
        if frame.empty:
            return None
        return charts.metric_charts(frame, smoothing=self.smoothing, log_y=self.log_y)

    @action("cannot draw the system metrics")
    def system_figure(self) -> Any:
        """CPU %, memory and GPU memory per epoch of the selected runs (``None`` when none were recorded)."""
        frame = self.curves(list(charts.SYSTEM_METRICS)) if self.selected else pd.DataFrame()
        if frame.empty:
            return None
        return charts.metric_charts(frame, columns=3, title="System (per epoch)")

    @action("cannot draw the runs against their size")
    def scatter(self) -> Any:
        """``score`` against parameter count (log x) of the listed runs; the selected ones stand out."""
        frame = self.filtered()
        if frame.empty or self.score not in frame.columns:
            return None
        data = pd.DataFrame({"id": frame["id"], "name": frame["name"], self.score: frame[self.score],
                             "n_params": pd.to_numeric(_column(frame, "param.n_params", "n_params"), errors="coerce"),
                             "compression": pd.to_numeric(_column(frame, "param.compression"), errors="coerce")})
        if data.dropna(subset=["n_params", self.score]).empty:
            return None
        return charts.params_scatter(data, self.score, selected=self.selected)

    # -------------------------------------------------------------------------------------- comparison
    def compare(self) -> pd.DataFrame:
        """Params and final metrics of the selected runs: one row per param / metric, one column per run."""
        if self.table is None or not self.selected:
            return pd.DataFrame()
        rows = self.table.set_index("id").loc[self.selected]
        keep = [c for c in rows.columns if c not in _RUN_COLUMNS and not c.startswith("metric.")]
        keep = ["status", "dataset", *sorted(keep, key=lambda c: (not c.startswith("param."), c))]
        out = rows[keep].T
        names = self._names()
        out.columns = [names.get(i, i[:8]) for i in rows.index]
        out.columns.name = "run"
        return out.dropna(how="all")

    def compare_display(self) -> tuple[pd.DataFrame, list[bool]]:
        """The comparison as shown: one text table (``field`` then one column per run; integers as integers,
        other numbers to 4 significant digits, ``model.layers`` as a layer list) and which rows differ."""
        if self.table is None or not self.selected:
            return pd.DataFrame(), []
        names = self._names()
        rows = self.table.set_index("id").loc[self.selected]
        params = sorted(c for c in rows.columns if c.startswith("param."))
        metrics = sorted(c for c in rows.columns if c not in _RUN_COLUMNS and not c.startswith("param.")
                         and not c.startswith("metric.") and not c.startswith("sys_"))
        columns: dict[str, dict[str, Any]] = {}
        for run_id, row in rows.iterrows():
            values: dict[str, Any] = {"status": row["status"], "dataset": row["dataset"],
                                      "tags": ", ".join(row["tags"] or []), "note": row["note"]}
            values |= {p[len("param."):]: row[p] for p in params}
            if isinstance(values.get("compression"), float) and values["compression"] == values["compression"]:
                values["compression"] = f"{values['compression']:.1f}x"  # as the summary writes it
            values |= {m: row[m] for m in metrics}
            columns[names.get(str(run_id), str(run_id)[:8])] = {k: v for k, v in values.items()
                                                                if not _missing(v)}
        return compare_frame(columns)

    # ------------------------------------------------------------------------------------- one run's page
    def report(self) -> dict[str, Any] | None:
        """The test report of the one selected run (``test_report.json``), or None."""
        if len(self.selected) != 1:
            return None
        run = self.project.get_run(self.selected[0])
        if "test_report.json" not in set(run.artifacts()["name"]):
            return None
        return dict(json.loads(run.load_artifact("test_report.json")))

    @action("cannot draw the test report")
    def report_figure(self) -> Any:
        """The confusion matrix (classification) or predicted-vs-true scatter (regression) of the selected run."""
        report = self.report()
        return None if report is None else report_figure(report)

    def per_class(self) -> pd.DataFrame:
        """Per-class precision, recall, F1 and support of the selected run (empty for regression)."""
        report = self.report() or {}
        per_class = report.get("per_class") or {}
        return pd.DataFrame([{"class": k, **v} for k, v in per_class.items()],
                            columns=["class", "precision", "recall", "f1", "support"])

    @action("cannot draw the study")
    def study_figure(self) -> Any:
        """Parallel coordinates (hyper-parameters → score) of the AutoML study whose parent run is selected."""
        if len(self.selected) != 1:
            return None
        children = [r["id"] for r in self.project.db.query("SELECT id FROM runs WHERE parent_run_id = ?",
                                                           (self.selected[0],))]
        trials = self.project.runs(archived=True)
        trials = trials[trials["id"].isin(children)]
        if "param.automl.trial" not in trials.columns or trials.empty:
            return None
        score = next((c for c in trials.columns if c.startswith("val_") and trials[c].notna().any()), None)
        if score is None:
            return None
        params = [c for c in trials.columns if (c.startswith("param.model.") or c == "param.family")
                  and trials[c].notna().any() and trials[c].map(lambda v: not isinstance(v, (list, dict))).all()]
        frame = trials[[*params, score]].rename(columns=lambda c: c.replace("param.model.", "").replace("param.", ""))
        return charts.parallel_coordinates(frame, score)

    # --------------------------------------------------------------------------------- tags, notes, delete
    def annotations(self) -> tuple[str, str]:
        """The tags (``'a, b'``, as :meth:`set_tags` reads them) and the note of the one selected run: what the
        views' editing fields start from; ``('', '')`` unless exactly one run is selected.

        >>> import tempfile
        >>> from tesla_lab.store import Project
        >>> project = Project.init(tempfile.mkdtemp())
        >>> run = project.start_run(name="a"); run.finish()
        >>> project.tag_run(run.id, add=["baseline", "tt"]); project.note_run(run.id, "rank 4 is enough")
        ['baseline', 'tt']
        >>> state = RunsState(project); state.selected = [run.id]
        >>> state.annotations()
        ('baseline, tt', 'rank 4 is enough')
        """
        if len(self.selected) != 1 or self.table is None:
            return "", ""
        rows = self.table[self.table["id"] == self.selected[0]]
        if rows.empty:
            return "", ""
        row = rows.iloc[0]
        return ", ".join(row["tags"] or []), row["note"] or ""

    @action("cannot tag the run")
    def set_tags(self, text: str) -> list[str]:
        """Set the tags of the one selected run from ``'a, b c'`` (commas or spaces)."""
        from tesla_lab.store.annotations import set_tags

        tags = set_tags(self.project.get_run(self._one()), [t for t in text.replace(",", " ").split() if t])
        self.message = f"tags: {', '.join(tags) or '(none)'}"
        self.refresh()
        return tags

    @action("cannot save the note")
    def set_note(self, text: str) -> None:
        """Set the note of the one selected run."""
        self.project.note_run(self._one(), text)
        self.message = "note saved"
        self.refresh()

    @action("cannot archive the runs")
    def archive(self) -> None:
        """Archive the selected runs (hidden from the list, kept in the store; ``tesla runs --archived``)."""
        if not self.selected:
            raise ConfigError("select the runs to archive first")
        for run_id in self.selected:
            self.project.archive_run(run_id)
        self.message = f"archived {len(self.selected)} run(s); `tesla runs archive RUN --undo` brings one back"
        self.selected = []
        self.refresh()

    @action("cannot delete the run")
    def request_delete(self) -> str:
        """First step of deleting the one selected run: says what goes (the view asks to confirm)."""
        run = self.project.get_run(self._one())
        what = deletion_preview(run)
        self.pending_delete = run.id
        text = (f"delete run {run.name} ({run.id[:8]}) with {what['metrics']} metric values and {what['artifacts']} "
                f"artifacts ({what['bytes'] / 2**20:.1f} MiB)? This cannot be undone.")
        self.message = text
        return text

    @action("cannot delete the run")
    def confirm_delete(self) -> None:
        """Delete the run :meth:`request_delete` named."""
        if not self.pending_delete:
            raise ConfigError("nothing to delete: press Delete on a selected run first")
        run_id, self.pending_delete = self.pending_delete, ""
        run = self.project.get_run(run_id)
        name = run.name
        self.project.delete_run(run)
        self.selected = [i for i in self.selected if i != run_id]
        self.message = f"deleted run {name} ({run_id[:8]})"
        self.refresh()

    def cancel_delete(self) -> None:
        """Forget a pending delete."""
        self.pending_delete = ""
        self.message = "nothing deleted"

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


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value == ""


def report_figure(report: dict[str, Any]) -> Any:
    """The figure of a test report: its confusion matrix (classification) or predicted-vs-true scatter
    (regression, when the report holds ``predictions``); None when it has neither.

    >>> report_figure({"labels": ["a", "b"], "confusion_matrix": [[3, 1], [0, 4]]}).data[0].type
    'heatmap'
    """
    if report.get("confusion_matrix"):
        labels = list((report.get("per_class") or {}).keys()) or report.get("labels") or []
        return charts.confusion_matrix_figure(report["confusion_matrix"], labels)
    predictions = report.get("predictions")
    if predictions:
        return charts.predicted_vs_true(predictions["true"], predictions["predicted"])
    return None
