"""What a person adds to a run after the fact: tags, a note, archiving (hidden from the runs list, kept in the store)
and deleting it with its artifacts.

Tags are short labels (``baseline``, ``tt-rank-8``) stored as a JSON list on the run; the note is free text. An
archived run keeps everything and is left out of :meth:`Project.runs` unless asked for. Deleting removes the run's
row, params, metrics and artifact records, and unlinks each artifact file no other row of the store references
(a registered model version keeps its file).

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> run = project.start_run(name="a"); run.finish()
>>> tag_run(run, add=["baseline", "tt"]), tag_run(run, remove=["tt"])
(['baseline', 'tt'], ['baseline'])
>>> set_note(run, "rank 8 was enough"); run.info()["note"]
'rank 8 was enough'
>>> set_tags(run, ["bad tag!"])
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: a tag is 1-40 letters, digits or . _ - + : = (no spaces); got 'bad tag!'
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.store.retention import _referenced
from tesla_lab.store.runs import Run
from tesla_lab.store.values import from_json, to_json

__all__ = ["tag_run", "set_tags", "run_tags", "set_note", "archive_run", "delete_run", "deletion_preview"]

logger = logging.getLogger(__name__)

_TAG = re.compile(r"[A-Za-z0-9._\-+:=]{1,40}")
_MAX_NOTE = 10_000


def _check_tag(tag: Any) -> str:
    if not isinstance(tag, str) or not _TAG.fullmatch(tag.strip()):
        raise ConfigError(f"a tag is 1-40 letters, digits or . _ - + : = (no spaces); got {tag!r}")
    return tag.strip()


def run_tags(run: Run) -> list[str]:
    """The run's tags, in the order they were added.

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> run_tags(Project.init(tempfile.mkdtemp()).start_run())
    []
    """
    row = run._db.query_one("SELECT tags FROM runs WHERE id = ?", (run.id,))
    return list(from_json(row["tags"])) if row is not None and row["tags"] else []


def set_tags(run: Run, tags: Iterable[str]) -> list[str]:
    """Replace the run's tags (duplicates dropped, order kept); returns them.

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> set_tags(Project.init(tempfile.mkdtemp()).start_run(), ["b", "a", "b"])
    ['b', 'a']
    """
    if isinstance(tags, str):
        raise ConfigError(f"set_tags takes a list of tags; got the string {tags!r} (write [{tags!r}])")
    clean = list(dict.fromkeys(_check_tag(t) for t in tags))
    run._row()  # a clear NotFoundError for a deleted run
    with run._db.transaction() as conn:
        conn.execute("UPDATE runs SET tags = ? WHERE id = ?", (to_json(clean, "tags"), run.id))
    return clean


def tag_run(run: Run, add: Iterable[str] = (), remove: Iterable[str] = ()) -> list[str]:
    """Add ``add`` and remove ``remove`` from the run's tags; returns the tags now set."""
    added = [_check_tag(t) for t in ([add] if isinstance(add, str) else add)]
    gone = {_check_tag(t) for t in ([remove] if isinstance(remove, str) else remove)}
    return set_tags(run, [t for t in [*run_tags(run), *added] if t not in gone])


def set_note(run: Run, note: str) -> None:
    """Set the run's note (free text, ``''`` clears it)."""
    if not isinstance(note, str):
        raise ConfigError(f"a run note is text; got {type(note).__name__}")
    if len(note) > _MAX_NOTE:
        raise ConfigError(f"a run note holds at most {_MAX_NOTE:,} characters; got {len(note):,} (attach a file "
                          "with run.log_artifact for more)")
    run._row()
    with run._db.transaction() as conn:
        conn.execute("UPDATE runs SET note = ? WHERE id = ?", (note.strip(), run.id))


def archive_run(run: Run, archived: bool = True) -> None:
    """Archive the run (``archived=False``: bring it back). An archived run keeps its data; ``project.runs()``
    leaves it out unless called with ``archived=True``."""
    if run.status in ("queued", "running"):
        raise ConfigError(f"run {run.name} ({run.id[:8]}) is {run.status}; stop it before archiving it")
    with run._db.transaction() as conn:
        conn.execute("UPDATE runs SET archived = ? WHERE id = ?", (int(bool(archived)), run.id))


def deletion_preview(run: Run) -> dict[str, int]:
    """What :func:`delete_run` would remove: ``metrics`` values, ``artifacts`` records and their ``bytes``, and the
    ``models`` registry versions that point to the run (they keep their own file).

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> run = Project.init(tempfile.mkdtemp()).start_run(); run.log_metric("loss", 1.0, step=0); run.finish()
    >>> deletion_preview(run)
    {'metrics': 1, 'artifacts': 0, 'bytes': 0, 'models': 0}
    """
    db = run._db
    metrics = db.query_one("SELECT COUNT(*) FROM metrics WHERE run_id = ?", (run.id,))
    artifacts = db.query_one("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM artifacts WHERE run_id = ?", (run.id,))
    models = db.query_one("SELECT COUNT(*) FROM models WHERE run_id = ?", (run.id,))
    return {"metrics": int(metrics[0]), "artifacts": int(artifacts[0]), "bytes": int(artifacts[1]),  # type: ignore
            "models": int(models[0])}  # type: ignore[index]


def delete_run(run: Run) -> dict[str, int]:
    """Delete the run, its params, metrics and artifacts (files no other row references are unlinked); returns
    :func:`deletion_preview` of what was removed. A queued or running run must be stopped first.

    >>> import tempfile
    >>> from tesla_lab.store import Project
    >>> project = Project.init(tempfile.mkdtemp())
    >>> run = project.start_run(); _ = run.log_artifact("notes.txt", b"hello"); run.finish()
    >>> delete_run(run)["artifacts"], len(project.runs()), len(list(project.artifacts))
    (1, 0, 0)
    """
    status = run.status
    if status in ("queued", "running"):
        raise ConfigError(f"run {run.name} ({run.id[:8]}) is {status}; stop it before deleting it")
    removed = deletion_preview(run)
    shas = {str(r["sha256"]) for r in run._db.query("SELECT sha256 FROM artifacts WHERE run_id = ?", (run.id,))}
    unlink = []
    with run._db.transaction() as conn:
        conn.execute("DELETE FROM runs WHERE id = ?", (run.id,))  # params, metrics, artifacts cascade
        unlink = [sha for sha in shas if not _referenced(conn, sha)]
    for sha in unlink:
        with contextlib.suppress(FileNotFoundError):
            run._artifacts._target(sha).unlink()
    logger.info("deleted run %s (%d artifact files removed)", run.id[:8], len(unlink))
    return removed
