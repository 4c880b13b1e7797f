"""``tesla doctor``: check a project's store without changing it — file integrity, disk space, leftovers.

Each check is a :class:`Finding` (``ok`` or not, with a message that says what to do). Nothing is repaired or
moved; the report tells the user what, if anything, needs their decision.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> [f.check for f in diagnose(project.path) if not f.ok]
[]
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tesla_lab.errors import StoreError, TeslaError
from tesla_lab.store.leftovers import find_leftovers
from tesla_lab.store.location import StoreLocation, store_location

__all__ = ["Finding", "diagnose", "LOW_DISK_BYTES"]

#: below this many free bytes on the project's disk, writes (checkpoints, snapshots) are likely to fail
LOW_DISK_BYTES = 100 * 2**20


@dataclass(frozen=True)
class Finding:
    """One check's outcome."""

    check: str
    ok: bool
    message: str


def diagnose(root: str | os.PathLike[str], *, full: bool = False) -> list[Finding]:
    """Check the project at ``root``: which store it uses (``store``), that it opens and ``PRAGMA quick_check``
    (``full``: ``integrity_check``) passes (a PostgreSQL store: the server answers and the schema is current), the
    disk has room, no temporary files of an interrupted write are left over."""
    from tesla_lab.store.project import STORE_DIR, Project

    root = Project._locate(Path(root))
    store = root / STORE_DIR
    findings: list[Finding] = []
    try:
        location = store_location(root, Project._read_config(root / "tesla.yaml"))
    except TeslaError as exc:
        findings.append(Finding("store", False, str(exc)))
        return findings
    findings.append(Finding("store", True, location.describe()))
    check = _check_server(location) if location.engine == "postgresql" else _check_file(location, full)
    findings.append(check)
    if not check.ok and check.check == "open":
        return findings
    shared = location.engine == "postgresql" and "://" not in location.artifacts
    findings.append(Finding("artifacts", True, location.artifacts + (
        "; a local folder: the other machines sharing this store cannot read these files (models, checkpoints, "
        "dataset snapshots): "
        "set artifacts: s3://bucket/prefix or file:///shared/folder in tesla.yaml" if shared else "")))
    free = shutil.disk_usage(root).free
    findings.append(Finding("disk", free >= LOW_DISK_BYTES,
                            f"{free / 2**20:.0f} MiB free on the disk holding {root}"
                            + ("" if free >= LOW_DISK_BYTES else "; free some space before training (checkpoints "
                               "and dataset snapshots need room)")))
    leftovers = find_leftovers(store, min_age=0)  # reported at any age: doctor deletes nothing
    findings.append(Finding("leftovers", not leftovers,
                            "no temporary files of interrupted writes" if not leftovers else
                            f"{len(leftovers)} temporary file(s) of interrupted writes, e.g. {leftovers[0]}; they "
                            "hold no committed data and can be deleted"))
    return findings


def _check_server(location: StoreLocation) -> Finding:
    from tesla_lab.store.pg import PgDatabase

    try:
        db = PgDatabase(location.url, timeout=10)
    except TeslaError as exc:
        return Finding("open", False, str(exc))
    try:
        report = db.quick_check()
    finally:
        db.close()
    return Finding("server", report == "ok", f"{db.location}: PostgreSQL answers, schema {report}")


def _check_file(location: StoreLocation, full: bool) -> Finding:
    from tesla_lab.store.db import Database

    db_path = location.path
    assert db_path is not None
    if not db_path.is_file():
        return Finding("open", False, f"{db_path} is missing; `tesla init` creates a store for a new project, and a "
                       "project whose .tesla folder was copied without it needs a backup")
    try:
        db = Database(db_path, create=False)
    except StoreError as exc:
        return Finding("open", False, str(exc))
    try:
        report = db.integrity_check() if full else db.quick_check()
    finally:
        db.close()
    name = "integrity_check" if full else "quick_check"
    return Finding(name, report == "ok", f"{db_path}: {name} {report.splitlines()[0][:300]}"
                   + ("" if report == "ok" else "; restore store.db from a backup (the artifacts and datasets "
                      "folders are separate files and not affected)"))
