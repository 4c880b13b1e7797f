"""Remove what an interrupted write left in a project's ``.tesla/`` folder.

A process killed in the middle of an atomic write (:mod:`tesla_lab._atomic`) leaves its temporary file — a hidden
``.NAME.XXXX.tmp`` or ``.NAME.XXXX.part`` next to the target — and a checkpoint being stored leaves its hidden
``.ckpt-XXXX`` folder under ``artifacts/``. They are never read, only take space, so opening a project removes
them; but only those untouched for ``min_age`` seconds (a minute by default), so the temporary file of a write
still in progress in another process is never removed (it is written to continuously until it is renamed).

>>> import os, tempfile, time
>>> store = tempfile.mkdtemp()
>>> old = os.path.join(store, ".store.db.abc123.tmp")
>>> _ = open(old, "wb").write(b"half")
>>> os.utime(old, (time.time() - 120, time.time() - 120))
>>> fresh = os.path.join(store, ".meta.json.def456.tmp")
>>> _ = open(fresh, "wb").write(b"being written")
>>> [os.path.basename(p) for p in remove_leftovers(store)], os.path.exists(fresh)
(['.store.db.abc123.tmp'], True)
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["find_leftovers", "remove_leftovers", "LEFTOVER_FILE", "LEFTOVER_DIR", "SCAN_RECORD"]

logger = logging.getLogger(__name__)

LEFTOVER_FILE = re.compile(r"^\..+\.(tmp|part)$|^\.[0-9a-f]{64}\.parquet\..+\.parquet$")
"""Temporary files of an atomic write: hidden, ending in ``.tmp`` or ``.part``, or a dataset snapshot's
``.<sha256>.parquet.XXXX.parquet``."""
LEFTOVER_DIR = re.compile(r"^\.ckpt-")
"""Temporary folders of a checkpoint being stored (:class:`~tesla_lab.store.StoreCallback`)."""
SCAN_RECORD = "leftovers-scan.json"
"""Where :func:`remove_leftovers` (``quick=True``) records its last walk, in the store folder."""
_SLACK = 2.0  # seconds: file-system timestamps are coarser than time.time()


def _newest_mtime(path: Path) -> float:
    newest = path.lstat().st_mtime
    for root, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            with contextlib.suppress(OSError):
                newest = max(newest, os.lstat(os.path.join(root, name)).st_mtime)
    return newest


def find_leftovers(store_dir: str | os.PathLike[str], *, min_age: float = 60.0) -> list[Path]:
    """Leftover temporary files and folders under ``store_dir`` untouched for ``min_age`` seconds (``tesla
    doctor`` reports them, :func:`remove_leftovers` deletes them). Only hidden names are looked at; unreadable
    entries are skipped. Every folder is listed (see :func:`remove_leftovers` for the quick way)."""
    return _scan(Path(store_dir), time.time() - min_age, None)[0]


class _Scan(NamedTuple):
    old: list[Path]  # leftovers older than the cutoff
    fresh: list[Path]  # leftover-like names touched since: maybe a write in progress
    folders: list[str]  # every folder under the root (relative; "" is the root)


def _scan(root: Path, cutoff: float, previous: dict[str, Any] | None) -> _Scan:
    """Walk ``root``. With ``previous`` (the record of the last walk), a folder it lists and whose mtime is older
    than its ``clean_before`` is not listed again: no entry was created, renamed or removed in it since, so it
    holds no leftover that walk did not see; its sub-folders are taken from the record."""
    found = _Scan([], [], [])
    if not root.is_dir():
        return found
    known: dict[str, list[str]] = {}
    clean_before = -math.inf
    if previous is not None:
        clean_before = float(previous["clean_before"]) - _SLACK
        for rel in previous["folders"]:
            known.setdefault(rel, [])
            if rel:
                known.setdefault(os.path.dirname(rel), []).append(rel)
    pending = [""]
    while pending:
        rel = pending.pop()
        folder = root / rel
        try:
            if rel in known and os.stat(folder).st_mtime < clean_before:
                found.folders.append(rel)
                pending.extend(known[rel])
                continue
            entries = list(os.scandir(folder))
        except OSError:
            continue
        found.folders.append(rel)
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if LEFTOVER_DIR.match(entry.name):
                        (found.old if _newest_mtime(path) < cutoff else found.fresh).append(path)
                    elif not entry.name.startswith("."):
                        pending.append(os.path.join(rel, entry.name))
                elif entry.is_file(follow_symlinks=False) and LEFTOVER_FILE.match(entry.name):
                    stamp = entry.stat(follow_symlinks=False).st_mtime
                    (found.old if stamp < cutoff else found.fresh).append(path)
            except OSError as exc:
                logger.debug("could not check %s: %s", path, exc)
    found.old.sort()
    return found


def _read_record(root: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((root / SCAN_RECORD).read_text())
        here = os.stat(root)
        if record.get("root") != [here.st_dev, here.st_ino]:  # a copied or restored folder: list everything
            return None
        float(record["clean_before"])
        if not isinstance(record["folders"], list) or not all(isinstance(f, str) for f in record["folders"]):
            return None
        return record  # type: ignore[no-any-return]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_record(root: Path, clean_before: float, folders: list[str]) -> None:
    """Write the record of this walk (no fsync: a lost or torn record only means listing everything next time)."""
    here = os.stat(root)
    text = json.dumps({"root": [here.st_dev, here.st_ino], "clean_before": clean_before, "folders": sorted(folders)})
    tmp = root / f".{SCAN_RECORD}.{os.getpid()}.tmp"
    try:
        tmp.write_text(text)
        os.replace(tmp, root / SCAN_RECORD)
    except OSError as exc:  # a read-only project: nothing to record
        logger.debug("could not record the leftover scan in %s: %s", root, exc)
        with contextlib.suppress(OSError):
            tmp.unlink()


def remove_leftovers(store_dir: str | os.PathLike[str], *, min_age: float = 60.0,
                     quick: bool = False) -> list[Path]:
    """Delete what :func:`find_leftovers` finds; return what was removed. Errors (a file vanishing, no
    permission) are skipped, never raised.

    ``quick=True`` (what opening a project does) keeps a record of the walk in ``store_dir/leftovers-scan.json``
    and next time lists only the folders changed since (a folder's mtime moves when an entry is created, renamed
    or removed in it), so the cost of an open grows with the number of folders, not with the thousands of
    artifact files in them. A copied folder, or a missing or damaged record, means one full walk."""
    root = Path(store_dir)
    started = time.time()
    scan = _scan(root, started - min_age, _read_record(root) if quick else None)
    removed: list[Path] = []
    for path in scan.old:
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError as exc:
            logger.debug("could not remove leftover %s: %s", path, exc)
    if removed:
        logger.info("removed %d leftover temporary file(s) of interrupted writes in %s", len(removed), root)
    if quick and root.is_dir():
        # what is still there (too fresh, or not removable) must be looked at again: its folder is listed next time
        kept = scan.fresh + [p for p in scan.old if p not in removed]
        stamps = [started - min_age]
        for path in kept:
            with contextlib.suppress(OSError):
                stamps.append(os.stat(path.parent).st_mtime)
        _write_record(root, min(stamps), scan.folders)
    return sorted(removed)
