"""``tesla store repair``: a new store for a project whose ``store.db`` is missing or empty (0 bytes) while its
dataset snapshots and artifacts are still there.

What can be rebuilt is rebuilt from the files themselves: every Parquet snapshot in ``.tesla/datasets`` becomes
version 1 of a dataset named ``recovered-<first 12 hex digits of its content hash>`` (the original names lived
only in the lost database), checked against its content hash. Artifacts (model bundles, checkpoints) are
content-addressed files: they stay where they are and are counted; runs, metrics and the model registry cannot be
recovered without the database (restore it from a backup for those). A 0-byte ``store.db`` is kept beside the
new one as ``store.db.empty-<time>``; nothing is deleted.

>>> import tempfile, pandas as pd
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> _ = project.datasets.snapshot("iris", pd.DataFrame({"x": [1.0, 2.0]}))
>>> project.close(); (project.path / ".tesla" / "store.db").write_bytes(b"")  # the store is lost
0
>>> report = repair_store(project.path)
>>> report.datasets, Project(project.path).datasets.names()[0].startswith("recovered-")
(1, True)
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tesla_lab.errors import StoreError

__all__ = ["RepairReport", "repair_store"]

logger = logging.getLogger(__name__)


@dataclass
class RepairReport:
    """What :func:`repair_store` did."""

    store: Path
    datasets: int = 0
    artifacts: int = 0
    skipped: list[str] = field(default_factory=list)
    kept_aside: Path | None = None


def repair_store(root: str | os.PathLike[str]) -> RepairReport:
    """Create a new store for the project at ``root`` and re-register what its files allow (see the module)."""
    from tesla_lab.store.datasets import content_hash
    from tesla_lab.store.db import Database
    from tesla_lab.store.location import store_location
    from tesla_lab.store.project import STORE_DIR, Project

    root = Project._locate(Path(root))
    location = store_location(root, Project._read_config(root / "tesla.yaml"))
    if location.path != root / STORE_DIR / "store.db":
        raise StoreError(f"this project's store is {location.describe()}: repair only rebuilds the default "
                         f"{STORE_DIR}/store.db file; restore a server from its backup (pg_restore) or a moved file "
                         "from a copy")
    store = root / STORE_DIR
    db = store / "store.db"
    if db.is_file() and db.stat().st_size > 0:
        raise StoreError(f"{db} exists and is not empty: there is nothing to repair. If it is damaged, `tesla doctor` "
                         "says how; restore it from a backup rather than replacing it")
    report = RepairReport(store=db)
    if db.is_file():  # 0 bytes: keep it aside, never delete
        report.kept_aside = db.with_name(f"store.db.empty-{time.strftime('%Y%m%dT%H%M%S')}")
        os.replace(db, report.kept_aside)
    for stale in (db.with_name("store.db-wal"), db.with_name("store.db-shm")):
        if stale.is_file() and stale.stat().st_size == 0:
            stale.unlink()
    Database(db, create=True).close()  # the new, empty store (Project alone refuses to create it here, on purpose)
    project = Project(root)
    try:
        for path in sorted((store / "datasets").rglob("*.parquet")):
            sha = path.stem
            try:
                frame = pd.read_parquet(path, engine="pyarrow")
                if content_hash(frame) != sha:
                    raise StoreError("content does not match its hash")
            except Exception as exc:  # noqa: BLE001 - one unreadable file must not stop the others
                report.skipped.append(f"{path}: {exc}")
                logger.warning("skipped %s: %s", path, exc)
                continue
            project.datasets.snapshot(f"recovered-{sha[:12]}", frame, message="recovered by tesla store repair",
                                      source=str(path))
            report.datasets += 1
        artifacts = store / "artifacts"
        report.artifacts = sum(1 for p in artifacts.rglob("*") if p.is_file()) if artifacts.is_dir() else 0
    finally:
        project.close()
    return report
