"""A TESLA project: a folder with ``tesla.yaml``, ``data/``, ``notebooks/`` and the store in ``.tesla/``.

``.tesla/store.db`` (SQLite) holds runs, params, metrics, the model registry and dataset versions;
``.tesla/artifacts/`` and ``.tesla/datasets/`` hold the content-addressed files. :class:`Project` is the facade
the UI, CLI, jobs and notebooks use. Opening a project marks ``crashed`` the runs of this machine whose training
process died without ending them (:func:`~tesla_lab.store.liveness.sweep_crashed_runs`), so every entry point shows
the same, true status.

>>> import tempfile
>>> project = Project.init(tempfile.mkdtemp(), name="demo")
>>> run = project.start_run(name="first", params={"rank": 8})
>>> run.log_metric("val_accuracy", 0.9, step=0); run.finish()
>>> project.runs()[["name", "status", "val_accuracy", "param.rank"]]
    name    status  val_accuracy  param.rank
0  first  finished           0.9           8
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import subprocess
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tesla_lab.errors import ConfigError
from tesla_lab.store import annotations
from tesla_lab.store.artifacts_fs import open_artifact_store
from tesla_lab.store.datasets import DatasetStore
from tesla_lab.store.db import Database, NotFoundError, StoreError
from tesla_lab.store.leftovers import remove_leftovers
from tesla_lab.store.liveness import sweep_crashed_runs, sweep_dead_schedulers
from tesla_lab.store.location import StoreLocation, store_location
from tesla_lab.store.registry import ModelRegistry
from tesla_lab.store.runs import Run, check_status, from_json, now, to_timestamps

__all__ = ["Project", "CONFIG_FILE", "STORE_DIR"]

logger = logging.getLogger(__name__)

CONFIG_FILE = "tesla.yaml"
STORE_DIR = ".tesla"
DEFAULTS: dict[str, Any] = {"device": "auto", "precision": "fp32", "seed": 0}
_RUN_COLUMNS = ["id", "name", "status", "created", "duration", "device", "dataset", "dataset_version", "epochs_done",
                "resumed", "author", "git_commit", "tags", "note", "archived"]
#: the columns of :meth:`Project.runs` that describe a run (every other column is a metric or a ``param.``)
RUN_COLUMNS = tuple(_RUN_COLUMNS)


def _author() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in some containers
        return None


def _git_commit(path: Path) -> str | None:
    """HEAD's commit if ``path`` is inside a git work tree, else None (git missing or slow: None too)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", commit) else None


def _may_create_store(store: Path) -> bool:
    """A store is created only for a new project: never while artifacts or dataset snapshots of an old store are
    there (then a missing or empty store.db is lost history, and a silent new store would hide that)."""
    db = store / "store.db"
    if db.is_file() and db.stat().st_size > 0:
        return True  # exists: nothing is created
    held = [sub for sub in ("artifacts", "datasets") if (store / sub).is_dir() and any(
        p.is_file() for p in (store / sub).rglob("*"))]
    if held:
        state = "is empty (0 bytes)" if db.is_file() else "is missing"
        raise StoreError(
            f"{db} {state}, but {' and '.join(str(store / h) for h in held)} still hold files of this project; a new "
            f"empty store would hide them. Restore store.db from a backup, or run `tesla store repair` (in "
            f"{store.parent}) to create a new store and re-register the dataset snapshots it can find")
    return True


def _open_db(location: StoreLocation, store: Path, timeout: float) -> Any:
    """The project's :class:`Database` (SQLite file) or :class:`~tesla_lab.store.pg.PgDatabase` (a server)."""
    if location.engine == "postgresql":
        from tesla_lab.store.pg import PgDatabase  # lazy: psycopg only for a postgresql:// store

        return PgDatabase(location.url, timeout=timeout)
    assert location.path is not None
    default = location.path == store / "store.db"
    return Database(location.path, timeout=timeout, create=_may_create_store(store) if default else True)


def _dataset_store(db: Any, folder: Path, artifacts: str) -> DatasetStore:
    """Snapshots in ``.tesla/datasets``; also on the artifacts' file system when that is a URL (shared)."""
    if "://" in artifacts:
        from tesla_lab.store.datasets_fs import FsDatasetStore

        return FsDatasetStore(db, folder, artifacts)
    return DatasetStore(db, folder)


def _reopen(path: str, timeout: float) -> Project:
    return Project(path, timeout=timeout)


class Project:
    """An existing TESLA project, found at ``path`` or the nearest parent folder holding ``tesla.yaml`` (like
    git); ``path=None`` starts from the current directory. Create one with :meth:`Project.init`.

    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> Project(root)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.StoreError: no TESLA project at ... or any parent folder (no tesla.yaml); run `tesla init...
    >>> _ = Project.init(root)
    >>> Project(os.path.join(root, "notebooks")).path == Project(root).path  # found upward
    True
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 30.0) -> None:
        root = self._locate(Path.cwd() if path is None else Path(path))
        self.path = root
        self.config = self._read_config(root / CONFIG_FILE)
        self.name = str(self.config.get("name") or root.name)
        store = root / STORE_DIR
        self.location: StoreLocation = store_location(root, self.config)  # TESLA_STORE_URL, store:, or store.db
        if not store.is_dir():
            logger.info("%s has no %s folder (a fresh clone?); creating an empty store", root, STORE_DIR)
        self.db = _open_db(self.location, store, timeout)
        self.artifacts = open_artifact_store(self.location.artifacts, cache=store / "artifacts-cache")
        self.registry = ModelRegistry(self.db, self.artifacts)
        self.datasets = _dataset_store(self.db, store / "datasets", self.location.artifacts)
        self.sweep_crashed()
        remove_leftovers(store, quick=True)  # temporary files of writes a kill interrupted (a minute old or more)

    def sweep_crashed(self) -> list[str]:
        """Mark ``crashed`` the ``running`` runs of this machine whose process died (killed, out of memory, a
        reboot); returns their ids. Then ends the ``running`` schedule executions whose scheduler died
        (:func:`~tesla_lab.store.liveness.sweep_dead_schedulers`). Runs on every open; cheap (one indexed query
        each). A store that cannot be written (read-only) is left as it is, with a warning.

        >>> import tempfile
        >>> Project.init(tempfile.mkdtemp()).sweep_crashed()
        []
        """
        try:
            crashed = sweep_crashed_runs(self.db)
            sweep_dead_schedulers(self.db)  # schedule executions whose scheduler died (tesla_lab.jobs.schedule)
            return crashed
        except StoreError as exc:
            logger.warning("could not check %s for crashed runs: %s", self.db.path, exc)
            return []

    # ------------------------------------------------------------------------------------------ layout
    @staticmethod
    def _locate(start: Path) -> Path:
        start = start.expanduser().resolve()
        for folder in (start, *start.parents):
            if (folder / CONFIG_FILE).is_file():
                return folder
        raise StoreError(f"no TESLA project at {start} or any parent folder (no {CONFIG_FILE}); run `tesla init NAME` "
                         "or Project.init(path) to create one")

    @staticmethod
    def _read_config(path: Path) -> dict[str, Any]:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise StoreError(f"{path} is not readable YAML ({exc}); fix the file or restore it from git") from exc
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise StoreError(f"{path} must hold a YAML mapping (name:, created:, defaults:); got "
                             f"{type(data).__name__}")
        return data

    @classmethod
    def find(cls, start: str | os.PathLike[str] = ".") -> Project:
        """The project holding ``start`` (searched upward, like git)."""
        return cls(start)

    @classmethod
    def init(cls, path: str | os.PathLike[str], name: str | None = None,
             defaults: Mapping[str, Any] | None = None) -> Project:
        """Create a project at ``path`` (the folder may exist; an existing project there is refused):
        ``tesla.yaml``, ``data/``, ``notebooks/``, ``.tesla/store.db`` and ``.tesla/artifacts/``.

        >>> import tempfile
        >>> root = tempfile.mkdtemp()
        >>> Project.init(root, name="mnist").name
        'mnist'
        >>> Project.init(root)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.StoreError: a TESLA project already exists at ... (tesla.yaml); open it with Project(...)...
        """
        root = Path(path).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise StoreError(f"cannot create a project at {root}: it is a file; pass a folder path")
        config_path = root / CONFIG_FILE
        if config_path.exists():
            raise StoreError(f"a TESLA project already exists at {root} ({CONFIG_FILE}); open it with "
                             f"Project({str(root)!r}) instead (nothing was changed)")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigError(f"a project name must be a non-empty string; got {name!r}")
        if (root / STORE_DIR / "store.db").exists():
            raise StoreError(f"{root / STORE_DIR} already holds a store but there is no {CONFIG_FILE}; restore "
                             f"{CONFIG_FILE} (e.g. from git) instead of initialising over it (nothing was changed)")
        config = {
            "name": (name or root.name).strip(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "defaults": {**DEFAULTS, **dict(defaults or {})},
        }
        for sub in ("data", "notebooks", f"{STORE_DIR}/artifacts", f"{STORE_DIR}/datasets"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        gitignore = root / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text(f"# the TESLA store (runs, artifacts) is local state\n{STORE_DIR}/\n",
                                 encoding="utf-8")
        try:
            with open(config_path, "x", encoding="utf-8") as fh:  # "x": never overwrite one written meanwhile
                yaml.safe_dump(config, fh, sort_keys=False)
        except FileExistsError as exc:
            raise StoreError(f"a TESLA project already exists at {root} ({CONFIG_FILE}); open it with "
                             f"Project({str(root)!r}) instead (nothing was changed)") from exc
        logger.info("created TESLA project %r at %s", config["name"], root)
        return cls(root)

    @property
    def defaults(self) -> dict[str, Any]:
        """The ``defaults:`` section of ``tesla.yaml`` (device, precision, seed, ...)."""
        return dict(self.config.get("defaults") or {})

    @property
    def store_dir(self) -> Path:
        """The project's local ``.tesla/`` folder (artifacts, job logs, UI state; the SQLite store by default)."""
        return self.path / STORE_DIR

    @property
    def data_dir(self) -> Path:
        """The project's ``data/`` folder."""
        return self.path / "data"

    @property
    def notebooks_dir(self) -> Path:
        """The project's ``notebooks/`` folder."""
        return self.path / "notebooks"

    # -------------------------------------------------------------------------------------------- runs
    def start_run(
        self,
        name: str | None = None,
        config: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        dataset: Any = None,
        *,
        parent: str | Run | None = None,
        status: str = "running",
    ) -> Run:
        """Create a run and return it (``status='queued'`` for a run a background job will start later).

        ``dataset``: a dataset name (its head version), a ``(name, version)`` pair or a DatasetVersion.
        ``parent``: the run (or id / prefix) this one continues (a resume, a fine-tuning step).
        Records the author and, when the project is in a git repository, the commit.
        """
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise ConfigError(f"a run name must be a non-empty string or None (generated); got {name!r}")
        run_id = uuid.uuid4().hex
        resolved = self.datasets.resolve(dataset) if dataset is not None else None
        parent_id = None
        if parent is not None:
            parent_id = parent.id if isinstance(parent, Run) else self.get_run(parent).id
        return Run.create(
            self.db, self.artifacts, run_id=run_id,
            name=name.strip() if name else f"run-{time.strftime('%Y%m%d-%H%M%S')}-{run_id[:4]}",
            status=status, config=config, params=params, dataset=resolved, parent_run_id=parent_id,
            author=_author(), git_commit=_git_commit(self.path),
        )

    def get_run(self, run: str | Run) -> Run:
        """A run by id, unique id prefix, or exact name; the error lists the candidates."""
        if isinstance(run, Run):
            return self.get_run(run.id)
        if not isinstance(run, str) or not run.strip():
            raise ConfigError(f"get_run takes a run id, id prefix or name; got {run!r}")
        key = run.strip()
        rows = []
        if re.fullmatch(r"[0-9a-fA-F]+", key):
            rows = self.db.query("SELECT id, name FROM runs WHERE id >= ? AND id < ? ORDER BY created",
                                 (key.lower(), key.lower() + "g"))  # a range scan on the primary key
        if not rows:
            rows = self.db.query("SELECT id, name FROM runs WHERE name = ? ORDER BY created", (key,))
        if len(rows) == 1:
            return Run(self.db, self.artifacts, rows[0]["id"])
        if rows:
            found = ", ".join(f"{r['id'][:12]} ({r['name']})" for r in rows[:10])
            raise StoreError(f"{key!r} matches {len(rows)} runs: {found}; pass a longer id prefix")
        recent = self.db.query("SELECT id, name FROM runs ORDER BY created DESC LIMIT 5")
        hint = ", ".join(f"{r['id'][:8]} ({r['name']})" for r in recent) or "(no runs yet)"
        raise NotFoundError(f"no run with id, id prefix or name {key!r}; most recent runs: {hint}")

    def log_metric(self, run: str | Run, key: str, value: Any, step: int | None = None) -> None:
        """Log one metric value to a run given by id / prefix / name."""
        self.get_run(run).log_metric(key, value, step)

    def runs(self, status: str | None = None, archived: bool = False) -> pd.DataFrame:
        """One row per run, newest first: ``id, name, status, created, duration, device, dataset,
        dataset_version, epochs_done`` (steps logged, test metrics aside), ``resumed`` (times continued from a
        checkpoint), ``author, git_commit, tags`` (a list), ``note, archived``, then the last value of every
        metric, then every param as ``param.<key>``. Archived runs are left out unless ``archived=True``."""
        conditions: list[str] = [] if archived else ["archived = 0"]
        args: tuple[Any, ...] = ()
        if status is not None:
            conditions.append("status = ?")
            args = (check_status(status),)
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.db.query(f"SELECT * FROM runs{where} ORDER BY created DESC", args)
        chosen = f"run_id IN (SELECT id FROM runs{where})"  # metrics / params of the listed runs only
        current = now()
        records = []
        for r in rows:
            duration = r["duration"]
            if duration is None and r["started"] is not None and r["status"] == "running":
                duration = current - r["started"]  # live
            records.append({"id": r["id"], "name": r["name"], "status": r["status"], "created": r["created"],
                            "duration": duration, "device": r["device"], "dataset": r["dataset_name"],
                            "dataset_version": r["dataset_version"], "resumed": r["resumed"], "author": r["author"],
                            "git_commit": r["git_commit"], "tags": from_json(r["tags"] or "[]"), "note": r["note"],
                            "archived": bool(r["archived"])})
        done = {r["run_id"]: int(r["n"]) for r in self.db.query(
            f"SELECT run_id, MAX(step) + 1 AS n FROM metrics WHERE {chosen} AND key NOT LIKE 'test\\_%' ESCAPE '\\' "
            "GROUP BY run_id", args)}
        for record in records:
            record["epochs_done"] = done.get(record["id"], 0)
        frame = pd.DataFrame(records, columns=_RUN_COLUMNS)
        frame["created"] = to_timestamps(frame["created"])
        frame["duration"] = frame["duration"].astype("float64")
        if frame.empty:
            return frame
        ids = set(frame["id"])
        finals = self.db.query(
            "SELECT m.run_id, m.key, m.value FROM metrics m JOIN (SELECT run_id, key, MAX(step) AS step FROM metrics "
            f"WHERE {chosen} GROUP BY run_id, key) last "
            "ON m.run_id = last.run_id AND m.key = last.key AND m.step = last.step", args)
        metric_cols: dict[str, dict[str, float]] = {}
        for r in finals:
            if r["run_id"] in ids:
                value = float("nan") if r["value"] is None else float(r["value"])
                metric_cols.setdefault(r["key"], {})[r["run_id"]] = value
        param_cols: dict[str, dict[str, Any]] = {}
        for r in self.db.query(f"SELECT run_id, key, value FROM params WHERE {chosen}", args):
            if r["run_id"] in ids:
                param_cols.setdefault(f"param.{r['key']}", {})[r["run_id"]] = from_json(r["value"])
        extra = {}
        for key in sorted(metric_cols):
            column = key if key not in _RUN_COLUMNS else f"metric.{key}"  # never hide a run column
            extra[column] = frame["id"].map(metric_cols[key]).astype("float64")
        for key in sorted(param_cols):
            values = param_cols[key]
            extra[key] = pd.Series([values.get(i) for i in frame["id"]], index=frame.index, dtype=object)
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()):
                extra[key] = pd.to_numeric(extra[key])  # numeric params sort and plot as numbers
        return pd.concat([frame, pd.DataFrame(extra, index=frame.index)], axis=1) if extra else frame

    def tag_run(self, run: str | Run, add: Any = (), remove: Any = ()) -> list[str]:
        """Add / remove tags of a run (:func:`~tesla_lab.store.annotations.tag_run`); returns its tags."""
        return annotations.tag_run(self.get_run(run), add, remove)

    def note_run(self, run: str | Run, note: str) -> None:
        """Set a run's note (:func:`~tesla_lab.store.annotations.set_note`)."""
        annotations.set_note(self.get_run(run), note)

    def archive_run(self, run: str | Run, archived: bool = True) -> None:
        """Hide a run from :meth:`runs` (kept in the store; ``archived=False`` brings it back)."""
        annotations.archive_run(self.get_run(run), archived)

    def delete_run(self, run: str | Run) -> dict[str, int]:
        """Delete a run with its metrics and artifacts (:func:`~tesla_lab.store.annotations.delete_run`)."""
        return annotations.delete_run(self.get_run(run))

    # ------------------------------------------------------------------------------------------- misc
    def close(self) -> None:
        """Close this thread's database connection."""
        self.db.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        # multiprocessing: the other process re-opens the project from its path
        return (_reopen, (str(self.path), self.db.timeout))

    def __repr__(self) -> str:
        return f"Project(name={self.name!r}, path={str(self.path)!r})"
