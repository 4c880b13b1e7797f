"""The request log of a served model: :class:`RequestLog`, an append-only JSON-lines file rotated by size.

>>> import tempfile, os
>>> logfile = RequestLog(os.path.join(tempfile.mkdtemp(), "requests.jsonl"), backups=0)
>>> logfile
RequestLog('...requests.jsonl', max_bytes=10485760, backups=0)
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.serve.monitor._checks import _positive_int

__all__ = ["RequestLog"]


class RequestLog:
    """Append-only JSON-lines file, one record per request, rotated by size (``path`` → ``path.1`` → ... →
    ``path.<backups>``, the oldest deleted). Writes from many threads are serialised by a lock, each record is one
    ``write`` of one line, flushed at once. One process per file (uvicorn with one worker).

    >>> import tempfile, os
    >>> logfile = RequestLog(os.path.join(tempfile.mkdtemp(), "requests.jsonl"))
    >>> logfile.write({"endpoint": "/predict", "status": 200})
    >>> logfile.read()[0]["status"]
    200
    """

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = 10 * 2**20, backups: int = 3) -> None:
        self.path = Path(path)
        self.max_bytes = _positive_int(max_bytes, "max_bytes")
        if isinstance(backups, bool) or not isinstance(backups, int) or backups < 0:
            raise ConfigError(f"backups must be an integer >= 0; got {backups!r}")
        self.backups = backups
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - kept open; closed by close()

    def write(self, record: Mapping[str, Any]) -> None:
        """Append ``record`` (JSON-able; a ``ts`` in UTC ISO format is added when missing)."""
        rec = dict(record)
        rec.setdefault("ts", datetime.now(timezone.utc).isoformat(timespec="milliseconds"))
        line = json.dumps(rec, default=str, allow_nan=False) + "\n"  # non-finite numbers must not reach the log
        with self._lock:
            if self._fh.closed:
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            if self._fh.tell() + len(line) > self.max_bytes and self._fh.tell() > 0:
                self._rotate()
            self._fh.write(line)
            self._fh.flush()

    def _rotate(self) -> None:
        self._fh.close()
        if self.backups == 0:
            self.path.unlink(missing_ok=True)
        else:
            for i in range(self.backups - 1, 0, -1):
                src = self.path.with_name(f"{self.path.name}.{i}")
                if src.exists():
                    os.replace(src, self.path.with_name(f"{self.path.name}.{i + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def files(self) -> list[Path]:
        """The log files, oldest first (rotated ones, then the current one)."""
        rotated = [self.path.with_name(f"{self.path.name}.{i}") for i in range(self.backups, 0, -1)]
        return [p for p in [*rotated, self.path] if p.exists()]

    def read(self) -> list[dict[str, Any]]:
        """Every record still on disk, oldest first (a torn last line from a crash is skipped)."""
        with self._lock:
            if not self._fh.closed:
                self._fh.flush()
            out = []
            for path in self.files():
                with open(path, encoding="utf-8") as fh:
                    for line in fh:
                        try:
                            out.append(json.loads(line))
                        except json.JSONDecodeError:
                            continue
            return out

    def close(self) -> None:
        """Close the file (a later :meth:`write` reopens it)."""
        with self._lock:
            self._fh.close()

    def __repr__(self) -> str:
        return f"RequestLog({str(self.path)!r}, max_bytes={self.max_bytes}, backups={self.backups})"
