"""Checkpoint retention: which of a run's stored checkpoints to keep, and removing the others.

A run that stores a checkpoint every epoch would otherwise keep every one forever. :func:`prune_checkpoints` keeps,
by default, the last checkpoint (what resume continues from) and the best one by a monitored metric
(``keep="last+best"``); ``keep=N`` keeps the last N and ``keep="all"`` keeps everything. The superseded checkpoints'
artifact rows are deleted, and their files too when no other row (another run's artifact, a registered model, a
dataset version, a schedule's output) still references the same content — artifacts are content-addressed and may
be shared.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> run = Project.init(tempfile.mkdtemp()).start_run()
>>> for epoch, loss in enumerate([0.9, 0.5, 0.7, 0.8], start=1):
...     run.log_metric("loss", loss, step=epoch - 1)
...     _ = run.log_artifact(f"checkpoint-epoch{epoch:04d}.pt", f"state {epoch}".encode(), kind="checkpoint")
>>> prune_checkpoints(run, "last+best")
['checkpoint-epoch0001.pt', 'checkpoint-epoch0003.pt']
>>> sorted(run.artifacts()["name"]), run.latest_checkpoint_name()
(['checkpoint-epoch0002.pt', 'checkpoint-epoch0004.pt'], 'checkpoint-epoch0004.pt')
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.store.runs import Run

__all__ = ["check_keep", "metric_mode", "prune_checkpoints"]

logger = logging.getLogger(__name__)

_MAXIMISED = ("acc", "f1", "r2", "auc", "recall", "precision", "score")


def check_keep(keep: Any) -> int | str:
    """Validate a ``keep_checkpoints`` value: ``"last+best"``, ``"all"`` or an integer >= 1 (the last N).

    >>> check_keep("last+best"), check_keep(3)
    ('last+best', 3)
    >>> check_keep(0)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: keep_checkpoints must be 'last+best', 'all' or an integer >= 1 (the last N); got 0
    """
    if keep in ("last+best", "all") or (isinstance(keep, int) and not isinstance(keep, bool) and keep >= 1):
        return keep  # type: ignore[no-any-return]
    raise ConfigError(f"keep_checkpoints must be 'last+best', 'all' or an integer >= 1 (the last N); got {keep!r}")


def metric_mode(name: str) -> str:
    """``'max'`` for a metric where higher is better (accuracy, f1, r2, ...), else ``'min'`` (losses, errors).

    >>> metric_mode("val_accuracy"), metric_mode("val_loss")
    ('max', 'min')
    """
    return "max" if any(part in name.lower() for part in _MAXIMISED) else "min"


def _best(run: Run, names: list[str], monitor: str | None) -> str | None:
    """The checkpoint name whose epoch has the best ``monitor`` value (default ``val_loss``, else ``loss``)."""
    from tesla_lab.store.resume import checkpoint_epoch

    rows = run._db.query("SELECT key, step, value FROM metrics WHERE run_id = ? AND key IN (?, ?, ?)",
                         (run.id, monitor or "", "val_loss", "loss"))
    by_key: dict[str, dict[int, float]] = {}
    for row in rows:
        if row["value"] is not None and math.isfinite(row["value"]):
            by_key.setdefault(row["key"], {})[int(row["step"])] = float(row["value"])
    key = monitor if monitor else ("val_loss" if "val_loss" in by_key else "loss")
    values = by_key.get(key, {})
    sign = -1.0 if metric_mode(key) == "max" else 1.0
    scored = []
    for name in names:
        epoch = checkpoint_epoch(name)
        if epoch is not None and epoch - 1 in values:  # checkpoint-epochN holds N epochs: logged at step N-1
            scored.append((sign * values[epoch - 1], -epoch, name))  # ties: the later checkpoint
    return min(scored)[2] if scored else None


def _referenced(conn: Any, sha: str) -> bool:
    for table, column in (("artifacts", "sha256"), ("models", "sha256"), ("dataset_versions", "sha256"),
                          ("schedule_runs", "output_sha256")):
        with contextlib.suppress(Exception):  # a table an older store does not have yet
            if conn.execute(f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1", (sha,)).fetchone():
                return True
    return False


def prune_checkpoints(run: Run, keep: int | str = "last+best", monitor: str | None = None) -> list[str]:
    """Delete ``run``'s checkpoints that ``keep`` does not keep; return the deleted artifact names (oldest first).

    The last checkpoint (the one :meth:`Run.latest_checkpoint` and resume use) is always kept. ``monitor`` names
    the metric for ``"last+best"`` (default ``val_loss`` when logged, else ``loss``; higher is better for accuracy,
    f1, r2, ...). A file is unlinked only when no row of the store references its content any more.
    """
    keep = check_keep(keep)
    if keep == "all":
        return []
    rows = run._db.query("SELECT name, sha256 FROM artifacts WHERE run_id = ? AND kind = 'checkpoint' "
                         "ORDER BY created, name", (run.id,))  # oldest first, the order latest_checkpoint uses
    names = [str(r["name"]) for r in rows]
    if not names:
        return []
    kept = set(names[-keep:]) if isinstance(keep, int) else {names[-1]}
    if keep == "last+best":
        best = _best(run, names, monitor)
        if best is not None:
            kept.add(best)
    doomed = [(str(r["name"]), str(r["sha256"])) for r in rows if r["name"] not in kept]
    if not doomed:
        return []
    unlink = []
    with run._db.transaction() as conn:
        for name, _sha in doomed:
            conn.execute("DELETE FROM artifacts WHERE run_id = ? AND name = ? AND kind = 'checkpoint'",
                         (run.id, name))
        for sha in {sha for _, sha in doomed}:
            if not _referenced(conn, sha):
                unlink.append(sha)
    for sha in unlink:
        run._artifacts.delete(sha)
    logger.debug("run %s: removed checkpoints %s (keep=%s)", run.id[:8], [n for n, _ in doomed], keep)
    return [name for name, _ in doomed]
