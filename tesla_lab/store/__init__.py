"""The experiment store: runs, metrics, artifacts, dataset versions and a model registry, plus the trainer callback
that fills it. One embedded SQLite file per project by default; a PostgreSQL server shared by a team when
``tesla.yaml`` says ``store: postgresql://...`` (or ``TESLA_STORE_URL``), with artifacts on any fsspec URL.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp(), name="demo")
>>> with project.start_run(name="try-1") as run:
...     run.log_metric("loss", 0.25, step=0)
>>> project.runs()[["name", "status", "loss"]]
    name    status  loss
0  try-1  finished  0.25
"""

from tesla_lab.store.artifacts import ArtifactStore
from tesla_lab.store.artifacts_fs import FsArtifactStore
from tesla_lab.store.callback import StoreCallback
from tesla_lab.store.datasets import DatasetDiff, DatasetStore, DatasetVersion
from tesla_lab.store.datasets_fs import FsDatasetStore
from tesla_lab.store.db import Database, NotFoundError, StoreError
from tesla_lab.store.leftovers import remove_leftovers
from tesla_lab.store.liveness import process_identity, sweep_crashed_runs, sweep_dead_schedulers
from tesla_lab.store.location import StoreLocation, store_location
from tesla_lab.store.pg import PgDatabase
from tesla_lab.store.project import Project
from tesla_lab.store.registry import MODEL_STAGES, ModelRegistry, ModelVersion
from tesla_lab.store.retention import prune_checkpoints
from tesla_lab.store.runs import FINAL_STATUSES, RESUMABLE_STATUSES, RUN_STATUSES, Run

__all__ = [
    "Project",
    "Run",
    "StoreCallback",
    "ModelRegistry",
    "ModelVersion",
    "DatasetStore",
    "FsDatasetStore",
    "DatasetVersion",
    "DatasetDiff",
    "ArtifactStore",
    "FsArtifactStore",
    "Database",
    "PgDatabase",
    "StoreLocation",
    "store_location",
    "StoreError",
    "NotFoundError",
    "RUN_STATUSES",
    "FINAL_STATUSES",
    "RESUMABLE_STATUSES",
    "sweep_crashed_runs",
    "sweep_dead_schedulers",
    "process_identity",
    "MODEL_STAGES",
    "prune_checkpoints",
    "remove_leftovers",
]
