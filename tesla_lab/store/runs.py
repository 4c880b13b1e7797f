"""Runs: one training (or evaluation) attempt with its params, metrics, artifacts, status and stop flag.

A :class:`Run` is a handle (the run id plus the store); every read goes to the database, so two processes looking
at the same run (the trainer writing, the UI polling) always agree. Statuses: ``queued`` → ``running`` →
``finished`` / ``failed`` / ``stopped``, or ``crashed`` when the process
training it died without a word (found when the project is next opened, see :mod:`tesla_lab.store.liveness`). A
stopped, failed or crashed run can be reopened (:meth:`Run.reopen`, :mod:`tesla_lab.store.resume`) and continued
from its checkpoint in place.

>>> from tesla_lab.store import Project
>>> import tempfile
>>> project = Project.init(tempfile.mkdtemp())
>>> with project.start_run(name="demo", params={"lr": 0.01}) as run:
...     run.log_metrics({"loss": 0.9, "acc": 0.5}, step=0)
...     run.log_metrics({"loss": 0.4, "acc": 0.8}, step=1)
>>> run.status, run.params(), run.summary()
('finished', {'lr': 0.01}, {'acc': 0.8, 'loss': 0.4})
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError
from tesla_lab.store.artifacts import ArtifactStore
from tesla_lab.store.db import Database, NotFoundError, StoreError
from tesla_lab.store.liveness import current_host, process_identity
from tesla_lab.store.values import (
    FINAL_STATUSES,
    RESUMABLE_STATUSES,
    RUN_STATUSES,
    _metric_key,
    _metric_value,
    _step,
    check_status,
    format_error,
    from_json,
    now,
    to_datetime,
    to_json,
    to_timestamps,
)

# the value helpers moved to tesla_lab.store.values; re-exported here, where the store and its callers import them
__all__ = ["Run", "RUN_STATUSES", "FINAL_STATUSES", "RESUMABLE_STATUSES", "to_json", "from_json", "check_status", "now",
           "to_timestamps", "to_datetime", "format_error"]

logger = logging.getLogger(__name__)


class Run:
    """A handle on one run in a project store (get one from :meth:`Project.start_run` / :meth:`Project.get_run`).

    Used as a context manager, the run ends ``finished`` when the block completes, ``failed`` with the traceback
    when it raises, ``stopped`` on Ctrl-C (a status already final, e.g. set by :class:`StoreCallback`, is kept
    when the block completes).

    >>> from tesla_lab.store import Project
    >>> import tempfile
    >>> run = Project.init(tempfile.mkdtemp()).start_run()
    >>> run.request_stop(); run.stop_requested()
    True
    >>> run.finish("stopped"); run.status
    'stopped'
    """

    def __init__(self, db: Database, artifacts: ArtifactStore, run_id: str) -> None:
        self._db = db
        self._artifacts = artifacts
        self.id = run_id

    @classmethod
    def create(
        cls,
        db: Database,
        artifacts: ArtifactStore,
        *,
        run_id: str,
        name: str,
        status: str = "running",
        config: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        dataset: tuple[str, int] | None = None,
        parent_run_id: str | None = None,
        author: str | None = None,
        git_commit: str | None = None,
        device: str | None = None,
    ) -> Run:
        """Insert a new run row (and its params, in the same transaction) and return its handle."""
        check_status(status, ("queued", "running"))
        if config is not None and not isinstance(config, Mapping):
            raise ConfigError(f"config must be a dict (the model/training configuration); got {type(config).__name__}")
        stamp = now()
        running = status == "running"
        me = process_identity() if running else (None, None, current_host())  # host: where it was created
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO runs (id, name, status, created, started, device, author, git_commit, config, "
                "dataset_name, dataset_version, parent_run_id, pid, pid_started, host) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, name, status, stamp, stamp if running else None, device, author, git_commit,
                 to_json(dict(config or {}), "config"), dataset[0] if dataset else None,
                 dataset[1] if dataset else None, parent_run_id, *me),
            )
            run = cls(db, artifacts, run_id)
            if params:
                run.log_params(params)
        return run

    # -------------------------------------------------------------------------------------------- reading
    def _row(self) -> Any:
        row = self._db.query_one("SELECT * FROM runs WHERE id = ?", (self.id,))
        if row is None:
            raise NotFoundError(f"run {self.id} is not in {self._db.path} (deleted?)")
        return row

    def info(self) -> dict[str, Any]:
        """Everything stored about the run itself: name, status, times (UTC datetimes), device, config, ...

        >>> from tesla_lab.store import Project
        >>> import tempfile
        >>> info = Project.init(tempfile.mkdtemp()).start_run(name="a", config={"epochs": 2}).info()
        >>> info["name"], info["status"], info["config"]
        ('a', 'running', {'epochs': 2})
        """
        row = dict(self._row())
        row["config"] = from_json(row["config"])
        row["stop_requested"] = bool(row["stop_requested"])
        for key in ("created", "started", "ended"):
            row[key] = to_datetime(row[key])
        return row

    @property
    def name(self) -> str:
        """The run's display name."""
        return str(self._row()["name"])

    @property
    def status(self) -> str:
        """The current status (read from the store)."""
        return str(self._row()["status"])

    @property
    def resumed(self) -> int:
        """How many times the run was reopened to continue from its checkpoint (:meth:`reopen`)."""
        return int(self._row()["resumed"])

    @property
    def artifact_store(self) -> ArtifactStore:
        """The project's content-addressed file store this run's artifacts live in."""
        return self._artifacts

    @property
    def config(self) -> dict[str, Any]:
        """The configuration the run was started with (a dict; rebuild the model from it to reproduce the run)."""
        return from_json(self._row()["config"])

    def params(self) -> dict[str, Any]:
        """The logged params as ``{key: value}``."""
        rows = self._db.query("SELECT key, value FROM params WHERE run_id = ? ORDER BY key", (self.id,))
        return {r["key"]: from_json(r["value"]) for r in rows}

    def metrics(self, keys: Iterable[str] | str | None = None, since: float | datetime | None = None) -> pd.DataFrame:
        """Logged metric values as a long DataFrame: ``key, step, value, timestamp`` (sorted by key, step).

        ``keys`` keeps only those metrics; ``since`` (a datetime, e.g. the last ``timestamp`` seen, or Unix
        seconds) only values written after it, so a live view can poll for what is new.
        """
        sql, args = "SELECT key, step, value, timestamp FROM metrics WHERE run_id = ?", [self.id]
        if keys is not None:
            keys = [keys] if isinstance(keys, str) else list(keys)
            sql += f" AND key IN ({','.join('?' * len(keys))})"
            args += keys
        if since is not None:
            sql += " AND timestamp > ?"
            args.append(since.timestamp() if hasattr(since, "timestamp") else float(since))
        rows = self._db.query(sql + " ORDER BY key, step", args)
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["key", "step", "value", "timestamp"])
        frame["step"] = frame["step"].astype("int64")
        frame["value"] = frame["value"].astype("float64")  # NULL (a NaN logged) → NaN
        frame["timestamp"] = to_timestamps(frame["timestamp"])
        return frame

    def history(self) -> pd.DataFrame:
        """Metrics as a wide DataFrame: one row per step (index ``step``), one column per metric.

        >>> from tesla_lab.store import Project
        >>> import tempfile
        >>> run = Project.init(tempfile.mkdtemp()).start_run()
        >>> run.log_metric("loss", 1.0, step=0); run.log_metric("loss", 0.5, step=1)
        >>> run.history()
              loss
        step
        0      1.0
        1      0.5
        """
        long = self.metrics()
        wide = long.pivot(index="step", columns="key", values="value")
        wide.columns.name = None
        return wide

    def summary(self) -> dict[str, float]:
        """The last logged value (highest step) of every metric."""
        rows = self._db.query(
            "SELECT m.key, m.value FROM metrics m JOIN (SELECT key, MAX(step) AS step FROM metrics WHERE run_id = ? "
            "GROUP BY key) last ON m.key = last.key AND m.step = last.step WHERE m.run_id = ? ORDER BY m.key",
            (self.id, self.id),
        )
        return {r["key"]: math.nan if r["value"] is None else float(r["value"]) for r in rows}

    # -------------------------------------------------------------------------------------------- logging
    def log_params(self, params: Mapping[str, Any]) -> None:
        """Record params (JSON values; logging a key again replaces its value). One transaction."""
        if not isinstance(params, Mapping):
            raise ConfigError(f"log_params takes a dict of name → value; got {type(params).__name__}")
        rows = []
        for key, value in params.items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"a param name must be a non-empty string; got {key!r}")
            rows.append((self.id, key, to_json(value, f"param {key!r}")))
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT INTO params (run_id, key, value) VALUES (?,?,?) "
                "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value", rows)

    def log_param(self, key: str, value: Any) -> None:
        """Record one param."""
        self.log_params({key: value})

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record several metric values at one ``step`` in one transaction (a value logged again at the same
        step replaces the old one). ``step=None`` uses one past the highest step logged for these keys."""
        if not isinstance(metrics, Mapping):
            raise ConfigError(f"log_metrics takes a dict of name → number; got {type(metrics).__name__}")
        values = [(_metric_key(k), _metric_value(k, v)) for k, v in metrics.items()]
        if not values:
            return
        stamp = now()
        with self._db.transaction() as conn:
            if step is None:
                marks = ",".join("?" * len(values))
                last = conn.execute(f"SELECT MAX(step) FROM metrics WHERE run_id = ? AND key IN ({marks})",
                                    (self.id, *(k for k, _ in values))).fetchone()[0]
                step = 0 if last is None else int(last) + 1
            step = _step(step)
            conn.executemany(
                "INSERT INTO metrics (run_id, key, step, value, timestamp) VALUES (?,?,?,?,?) "
                "ON CONFLICT (run_id, key, step) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp",
                [(self.id, key, step, value, stamp) for key, value in values],
            )

    def log_metric(self, key: str, value: Any, step: int | None = None) -> None:
        """Record one metric value (``step=None``: one past the highest step of this metric)."""
        self.log_metrics({key: value}, step)

    # ------------------------------------------------------------------------------------------ artifacts
    def log_artifact(self, name: str, source: str | os.PathLike[str] | bytes, kind: str = "file") -> str:
        """Store a file (a path) or ``bytes`` as artifact ``name`` of this run; return its SHA-256 id.

        Logging the same name again points it to the new content (the old content stays in the store).
        """
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"an artifact name must be a non-empty string; got {name!r}")
        if isinstance(source, (bytes, bytearray, memoryview)):
            sha = self._artifacts.put_bytes(source)
        elif isinstance(source, (str, os.PathLike)):
            sha = self._artifacts.put_file(source)
        else:
            raise ConfigError(f"log_artifact takes a file path or bytes; got {type(source).__name__} (use "
                              "log_model for a model or state dict)")
        self._record_artifact(name, kind, sha)
        return sha

    def _record_artifact(self, name: str, kind: str, sha: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO artifacts (run_id, name, kind, sha256, size, created) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind, sha256 = excluded.sha256, "
                "size = excluded.size, created = excluded.created",
                (self.id, name, str(kind), sha, self._artifacts.size(sha), now()),
            )

    def log_model(self, model: Any, name: str = "model") -> str:
        """Store a model's ``state_dict`` (a ``torch.nn.Module`` or a state dict) as artifact ``name`` of kind
        ``'model'``; return its id. :meth:`ModelRegistry.register_model` picks it up from ``run_id=``."""
        state = model.state_dict() if hasattr(model, "state_dict") and callable(model.state_dict) else model
        if not isinstance(state, Mapping):
            raise ConfigError(f"log_model takes a torch.nn.Module or a state dict; got {type(model).__name__}")
        cpu = {k: (v.detach().cpu() if hasattr(v, "detach") else v) for k, v in state.items()}
        sha = self._artifacts.put_torch(cpu)
        self._record_artifact(name, "model", sha)
        return sha

    def artifacts(self) -> pd.DataFrame:
        """This run's artifacts: ``name, kind, sha256, size, created``."""
        rows = self._db.query("SELECT name, kind, sha256, size, created FROM artifacts WHERE run_id = ? "
                              "ORDER BY created, name", (self.id,))
        frame = pd.DataFrame([tuple(r) for r in rows], columns=["name", "kind", "sha256", "size", "created"])
        frame["created"] = to_timestamps(frame["created"])
        return frame

    def artifact_sha(self, name: str) -> str:
        """The id of this run's artifact ``name``; the error lists the names that exist."""
        row = self._db.query_one("SELECT sha256 FROM artifacts WHERE run_id = ? AND name = ?", (self.id, name))
        if row is None:
            names = [r["name"] for r in self._db.query("SELECT name FROM artifacts WHERE run_id = ? ORDER BY name",
                                                       (self.id,))]
            raise NotFoundError(f"run {self.id[:8]} has no artifact {name!r}; it has: {', '.join(names) or '(none)'}")
        return str(row["sha256"])

    def artifact_path(self, name: str) -> Path:
        """Path of the stored file of artifact ``name`` (read-only; its hash is checked)."""
        return self._artifacts.path(self.artifact_sha(name), verify=True)

    def load_artifact(self, name: str) -> bytes:
        """The bytes of artifact ``name`` (hash checked)."""
        return self._artifacts.get_bytes(self.artifact_sha(name))

    def latest_checkpoint_name(self) -> str | None:
        """The artifact name of the newest checkpoint (``checkpoint-epochNNNN.pt``: it tells the epoch), or None."""
        row = self._db.query_one("SELECT name FROM artifacts WHERE run_id = ? AND kind = 'checkpoint' "
                                 "ORDER BY created DESC, name DESC LIMIT 1", (self.id,))
        return None if row is None else str(row["name"])

    def latest_checkpoint(self) -> Path | None:
        """The newest artifact of kind ``'checkpoint'`` as a file path (for ``Trainer.fit(resume=path)``), or
        ``None``. Its hash is checked."""
        row = self._db.query_one("SELECT sha256 FROM artifacts WHERE run_id = ? AND kind = 'checkpoint' "
                                 "ORDER BY created DESC, name DESC LIMIT 1", (self.id,))
        return None if row is None else self._artifacts.path(row["sha256"], verify=True)

    # ------------------------------------------------------------------------------------------ lifecycle
    def set_status(self, status: str, *, device: str | None = None, error: str | None = None) -> None:
        """Set the status. ``running`` records the start time (once) and this process (pid, its start time, the
        host: what tells a crashed run from a live one); a final status records the end time and duration."""
        check_status(status)
        stamp = now()
        with self._db.transaction() as conn:
            row = conn.execute("SELECT created, started FROM runs WHERE id = ?", (self.id,)).fetchone()
            if row is None:
                raise NotFoundError(f"run {self.id} is not in {self._db.path} (deleted?)")
            if status == "running":
                conn.execute("UPDATE runs SET status = ?, started = COALESCE(started, ?), pid = ?, pid_started = ?, "
                             "host = ?, device = COALESCE(?, device), ended = NULL, duration = NULL, error = NULL "
                             "WHERE id = ?", (status, stamp, *process_identity(), device, self.id))
            elif status in FINAL_STATUSES:
                began = row["started"] if row["started"] is not None else row["created"]
                conn.execute("UPDATE runs SET status = ?, ended = ?, duration = ?, error = ?, "
                             "device = COALESCE(?, device) WHERE id = ?",
                             (status, stamp, max(0.0, stamp - began), error, device, self.id))
            else:
                conn.execute("UPDATE runs SET status = ?, device = COALESCE(?, device) WHERE id = ?",
                             (status, device, self.id))

    def record_process(self, pid: int) -> None:
        """Record ``pid`` (a worker process started for this queued run) as the process behind the run, so the run
        is marked ``crashed`` if that process dies before it starts training."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE runs SET pid = ?, pid_started = ?, host = ? WHERE id = ?",
                         (*process_identity(pid), self.id))

    def reopen(self, from_step: int | None = None) -> None:
        """Make a stopped, failed or crashed run ``queued`` again to continue it in place (same id, same curve);
        see :func:`tesla_lab.store.resume.reopen_run`."""
        from tesla_lab.store.resume import reopen_run

        reopen_run(self, from_step)

    def start(self, device: str | None = None) -> None:
        """Mark the run ``running`` (on ``device``)."""
        self.set_status("running", device=device)

    def finish(self, status: str = "finished", error: str | None = None) -> None:
        """End the run: ``'finished'``, ``'failed'`` (with ``error`` text), ``'stopped'`` or ``'crashed'``."""
        check_status(status, FINAL_STATUSES)
        self.set_status(status, error=error)

    def request_stop(self) -> None:
        """Ask the training behind this run to stop (what the UI's stop button does): sets a flag in the store
        that :class:`StoreCallback` reads between steps. Works from any process."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE runs SET stop_requested = 1 WHERE id = ?", (self.id,))

    def clear_stop(self) -> None:
        """Withdraw a stop request (the flag stays set otherwise, also when the run is started again)."""
        with self._db.transaction() as conn:
            conn.execute("UPDATE runs SET stop_requested = 0 WHERE id = ?", (self.id,))

    def stop_requested(self) -> bool:
        """True once :meth:`request_stop` was called (one primary-key lookup: cheap to poll)."""
        row = self._db.query_one("SELECT stop_requested FROM runs WHERE id = ?", (self.id,))
        return bool(row and row[0])

    def __enter__(self) -> Run:
        if self.status == "queued":
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            if self.status not in FINAL_STATUSES:
                self.finish("finished")
        elif isinstance(exc, KeyboardInterrupt):
            self.finish("stopped", error="KeyboardInterrupt")
        else:
            self.finish("failed", error=format_error(exc))

    # ---------------------------------------------------------------------------------------------- misc
    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id and other._db.path == self._db.path

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        try:
            row = self._row()
            return f"Run(id={self.id[:8]!r}, name={row['name']!r}, status={row['status']!r})"
        except StoreError:
            return f"Run(id={self.id[:8]!r}, <deleted>)"

