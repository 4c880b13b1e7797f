"""Model registry: named models with numbered versions and a stage each (none / staging / production / archived).

A version points to an artifact (a stored ``state_dict``) and, optionally, the run that trained it. Promoting a
version to ``production`` archives the previous production version of that name in the same transaction, and a
unique index guarantees at most one production version per name.

>>> import tempfile, torch
>>> from tesla_lab.store import Project
>>> registry = Project.init(tempfile.mkdtemp()).registry
>>> v1 = registry.register_model("mnist-tt", artifact=torch.nn.Linear(2, 1), stage="production")
>>> v2 = registry.register_model("mnist-tt", artifact=torch.nn.Linear(2, 1))
>>> registry.set_stage("mnist-tt", 2, "production").stage, registry.get_model("mnist-tt", version=1).stage
('production', 'archived')
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab.errors import ConfigError
from tesla_lab.store.artifacts import ArtifactStore
from tesla_lab.store.db import Database, NotFoundError, StoreError
from tesla_lab.store.runs import Run, from_json, now, to_datetime, to_json, to_timestamps

__all__ = ["ModelRegistry", "ModelVersion", "MODEL_STAGES"]

MODEL_STAGES = ("none", "staging", "production", "archived")
_SHA = re.compile(r"^[0-9a-fA-F]{64}$")


def _check_stage(stage: Any) -> str:
    if stage not in MODEL_STAGES:
        raise ConfigError(f"unknown model stage {stage!r}; choose one of: {', '.join(MODEL_STAGES)}")
    return str(stage)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"a model name must be a non-empty string (e.g. 'mnist-tt'); got {name!r}")
    return name.strip()


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model (read-only; change its stage with :meth:`ModelRegistry.set_stage`).

    >>> import tempfile, torch
    >>> from tesla_lab.store import Project
    >>> mv = Project.init(tempfile.mkdtemp()).registry.register_model("m", artifact={"w": torch.zeros(1)})
    >>> mv.name, mv.version, mv.stage, mv.load()["w"]
    ('m', 1, 'none', tensor([0.]))
    """

    name: str
    version: int
    run_id: str | None
    sha256: str
    stage: str
    created: datetime
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    _artifacts: ArtifactStore | None = field(default=None, repr=False, compare=False)

    @property
    def path(self) -> Path:
        """The stored artifact file (read-only)."""
        if self._artifacts is None:
            raise StoreError("this ModelVersion is not attached to a store; get it from project.registry")
        return self._artifacts.path(self.sha256)

    def load(self, map_location: Any = "cpu") -> Any:
        """The stored object (usually a ``state_dict``), loaded with ``torch.load(weights_only=True)``."""
        if self._artifacts is None:
            raise StoreError("this ModelVersion is not attached to a store; get it from project.registry")
        return self._artifacts.load_torch(self.sha256, map_location=map_location)


class ModelRegistry:
    """Register, stage and look up model versions of one project (``project.registry``).

    >>> import tempfile, torch
    >>> from tesla_lab.store import Project
    >>> registry = Project.init(tempfile.mkdtemp()).registry
    >>> _ = registry.register_model("clf", artifact=torch.nn.Linear(2, 1), stage="staging")
    >>> registry.list_models()[["name", "version", "stage"]]
      name  version    stage
    0  clf        1  staging
    """

    def __init__(self, db: Database, artifacts: ArtifactStore) -> None:
        self._db = db
        self._artifacts = artifacts

    def _version(self, row: Any) -> ModelVersion:
        return ModelVersion(name=row["name"], version=int(row["version"]), run_id=row["run_id"],
                            sha256=row["sha256"], stage=row["stage"], created=to_datetime(row["created"]),
                            description=row["description"], metadata=from_json(row["metadata"]) or {},
                            _artifacts=self._artifacts)

    def _resolve_artifact(self, artifact: Any, run_id: str | None) -> str:
        """Store / find what ``artifact`` names and return its sha256."""
        if artifact is None:
            if run_id is None:
                raise ConfigError("register_model needs artifact= (a state dict, module, file path or artifact id) "
                                  "or run_id= of a run that logged a model (run.log_model)")
            row = self._db.query_one("SELECT sha256 FROM artifacts WHERE run_id = ? AND kind = 'model' "
                                     "ORDER BY created DESC LIMIT 1", (run_id,))
            if row is None:
                raise NotFoundError(f"run {run_id[:8]} has no artifact of kind 'model'; log one with "
                                    "run.log_model(model) (StoreCallback does when training ends) or pass artifact=")
            return str(row["sha256"])
        if isinstance(artifact, str) and _SHA.match(artifact) and not Path(artifact).is_file():
            sha = artifact.lower()
            if sha not in self._artifacts:
                raise NotFoundError(f"no artifact {sha} in {self._artifacts.root}; pass a stored artifact id, a file "
                                    "path, a state dict or a module")
            return sha
        if isinstance(artifact, (str, os.PathLike)):
            return self._artifacts.put_file(artifact)
        if isinstance(artifact, (bytes, bytearray, memoryview)):
            return self._artifacts.put_bytes(artifact)
        if hasattr(artifact, "state_dict") and callable(artifact.state_dict):
            artifact = artifact.state_dict()
        if isinstance(artifact, Mapping):
            cpu = {k: (v.detach().cpu() if hasattr(v, "detach") else v) for k, v in artifact.items()}
            return self._artifacts.put_torch(cpu)
        raise ConfigError(f"artifact must be a state dict, a torch.nn.Module, a file path, bytes or an artifact id; "
                          f"got {type(artifact).__name__}")

    def register_model(
        self,
        name: str,
        run_id: str | Run | None = None,
        artifact: Any = None,
        stage: str = "none",
        description: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Add a new version of model ``name`` (versions count 1, 2, ... per name) and return it.

        ``artifact``: a state dict or ``nn.Module`` (its state dict is stored), a file path, bytes, or the id of a
        stored artifact; left out, the latest ``'model'`` artifact of ``run_id`` is used. ``stage='production'``
        archives the current production version.
        """
        name = _check_name(name)
        stage = _check_stage(stage)
        if isinstance(run_id, Run):
            run_id = run_id.id
        if run_id is not None and self._db.query_one("SELECT 1 FROM runs WHERE id = ?", (run_id,)) is None:
            raise NotFoundError(f"no run {run_id!r} in this project; pass the id of an existing run (project.runs()) "
                             "or run_id=None")
        meta = to_json(dict(metadata or {}), "metadata")
        sha = self._resolve_artifact(artifact, run_id)
        with self._db.transaction() as conn:
            version = int(conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?",
                                       (name,)).fetchone()[0])
            if stage == "production":
                conn.execute("UPDATE models SET stage = 'archived' WHERE name = ? AND stage = 'production'", (name,))
            conn.execute("INSERT INTO models (name, version, run_id, sha256, stage, created, description, metadata) "
                         "VALUES (?,?,?,?,?,?,?,?)",
                         (name, version, run_id, sha, stage, now(), str(description), meta))
        return self.get_model(name, version=version)

    def _missing(self, name: str, what: str) -> NotFoundError:
        names = [r["name"] for r in self._db.query("SELECT DISTINCT name FROM models ORDER BY name")]
        if name not in names:
            return NotFoundError(f"no model named {name!r}; registered models: {', '.join(names) or '(none yet)'}")
        versions = [f"v{r['version']} ({r['stage']})" for r in
                    self._db.query("SELECT version, stage FROM models WHERE name = ? ORDER BY version", (name,))]
        return NotFoundError(f"model {name!r} has no {what}; its versions: {', '.join(versions)}")

    def get_model(self, name: str, *, stage: str | None = None, version: int | None = None) -> ModelVersion:
        """A version of ``name``: by ``version``, by ``stage`` (the newest one in it), or the newest overall."""
        name = _check_name(name)
        if stage is not None and version is not None:
            raise ConfigError("pass either stage= or version= to get_model, not both")
        if version is not None:
            row = self._db.query_one("SELECT * FROM models WHERE name = ? AND version = ?", (name, int(version)))
            what = f"version {version}"
        elif stage is not None:
            stage = _check_stage(stage)
            row = self._db.query_one("SELECT * FROM models WHERE name = ? AND stage = ? ORDER BY version DESC LIMIT 1",
                                     (name, stage))
            what = f"version in stage {stage!r}"
        else:
            row = self._db.query_one("SELECT * FROM models WHERE name = ? ORDER BY version DESC LIMIT 1", (name,))
            what = "version"
        if row is None:
            raise self._missing(name, what)
        return self._version(row)

    def set_stage(self, name: str, version: int, stage: str) -> ModelVersion:
        """Move ``name`` v``version`` to ``stage``; to ``'production'`` archives the previous production version
        (one transaction)."""
        name = _check_name(name)
        stage = _check_stage(stage)
        with self._db.transaction() as conn:
            row = conn.execute("SELECT stage FROM models WHERE name = ? AND version = ?",
                               (name, int(version))).fetchone()
            if row is None:
                raise self._missing(name, f"version {version}")
            if stage == "production":
                conn.execute("UPDATE models SET stage = 'archived' WHERE name = ? AND stage = 'production' "
                             "AND version != ?", (name, int(version)))
            try:
                conn.execute("UPDATE models SET stage = ? WHERE name = ? AND version = ?", (stage, name, int(version)))
            except sqlite3.IntegrityError as exc:  # the unique production index: cannot happen after the archive
                raise StoreError(f"cannot set {name} v{version} to {stage}: {exc}") from exc
        return self.get_model(name, version=version)

    def load_model(self, name: str, *, stage: str | None = None, version: int | None = None,
                   map_location: Any = "cpu") -> Any:
        """The stored object (state dict) of a version, chosen as in :meth:`get_model`."""
        return self.get_model(name, stage=stage, version=version).load(map_location=map_location)

    def list_models(self, name: str | None = None) -> pd.DataFrame:
        """Every registered version (or those of ``name``): ``name, version, stage, run_id, sha256, created,
        description, metadata``, newest first within each name."""
        sql, args = "SELECT * FROM models", ()
        if name is not None:
            sql, args = sql + " WHERE name = ?", (name,)
        rows = self._db.query(sql + " ORDER BY name, version DESC", args)
        columns = ["name", "version", "stage", "run_id", "sha256", "created", "description", "metadata"]
        frame = pd.DataFrame([[r[c] for c in columns] for r in rows], columns=columns)
        frame["created"] = to_timestamps(frame["created"])
        frame["metadata"] = [from_json(m) for m in frame["metadata"]]
        return frame

    def __repr__(self) -> str:
        return f"ModelRegistry({str(self._db.path)!r})"
