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
import logging
import os
import re
import shutil
import time
from pathlib import Path

__all__ = ["find_leftovers", "remove_leftovers", "LEFTOVER_FILE", "LEFTOVER_DIR"]

logger = logging.getLogger(__name__)

LEFTOVER_FILE = re.compile(r"^\..+\.(tmp|part)$")
"""Temporary files of an atomic write: hidden, ending in ``.tmp`` or ``.part``."""
LEFTOVER_DIR = re.compile(r"^\.ckpt-")
"""Temporary folders of a checkpoint being stored (:class:`~tesla_lab.store.StoreCallback`)."""


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
    entries are skipped."""
    root = Path(store_dir)
    if not root.is_dir():
        return []
    cutoff = time.time() - min_age
    found: list[Path] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_dir(follow_symlinks=False):
                    if LEFTOVER_DIR.match(entry.name):
                        if _newest_mtime(path) < cutoff:
                            found.append(path)
                    elif not entry.name.startswith("."):
                        pending.append(path)
                elif entry.is_file(follow_symlinks=False) and LEFTOVER_FILE.match(entry.name):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        found.append(path)
            except OSError as exc:
                logger.debug("could not check %s: %s", path, exc)
    return sorted(found)


def remove_leftovers(store_dir: str | os.PathLike[str], *, min_age: float = 60.0) -> list[Path]:
    """Delete what :func:`find_leftovers` finds; return what was removed. Errors (a file vanishing, no
    permission) are skipped, never raised."""
    root = Path(store_dir)
    removed: list[Path] = []
    for path in find_leftovers(root, min_age=min_age):
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
    return sorted(removed)
