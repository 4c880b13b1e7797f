"""Dataset versions: immutable, content-addressed Parquet snapshots of DataFrames, with a movable head per name.

:meth:`DatasetStore.snapshot` names the file by the SHA-256 of a canonical serialization of the frame's content
(column names and dtypes, index, and pandas' stable per-row hashes), so identical content is stored once, and a
snapshot equal to the current head adds no version. :meth:`DatasetStore.rollback` only moves the head: snapshots
are never changed or deleted.

>>> import tempfile, pandas as pd
>>> from tesla_lab.store import Project
>>> ds = Project.init(tempfile.mkdtemp()).datasets
>>> v1 = ds.snapshot("iris", pd.DataFrame({"x": [1.0, 2.0], "y": [0, 1]}), message="raw")
>>> v2 = ds.snapshot("iris", pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 1]}))
>>> ds.snapshot("iris", pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 1]})).version  # same as head
2
>>> print(ds.diff("iris", 1, 2))
iris v1 → v2: rows 2 → 3 (+1 added, -0 removed); columns 2 → 2
>>> ds.rollback("iris", 1).version, len(ds.load_version("iris"))
(1, 2)
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab._atomic import atomic_path
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store.db import Database, NotFoundError, StoreError
from tesla_lab.store.runs import from_json, now, to_datetime, to_timestamps
from tesla_lab.store.sqlite_errors import is_disk_full, os_error_in, write_error

__all__ = ["check_dataset_name", "DatasetStore", "DatasetVersion", "DatasetDiff", "content_hash", "row_hashes"]

_FORMAT = "tesla_lab.dataset/1"


def _label(value: Any) -> str:
    # the type is part of the label so that column 1 and column "1" hash differently
    return f"{type(value).__name__}:{value}"


def row_hashes(df: pd.DataFrame, index: bool = False) -> pd.Series:
    """One stable 64-bit hash per row (pandas' ``hash_pandas_object``: identical across processes and runs).

    >>> import pandas as pd
    >>> h = row_hashes(pd.DataFrame({"a": [1, 1, 2]}))
    >>> bool(h[0] == h[1]), bool(h[0] == h[2])
    (True, False)
    """
    try:
        return pd.util.hash_pandas_object(df, index=index, categorize=True).astype("<u8")
    except TypeError as exc:
        bad = [str(c) for c in df.columns if df[c].dtype == object and
               df[c].map(lambda v: isinstance(v, (list, dict, set))).any()]
        raise DataError(f"cannot hash the rows of this DataFrame ({exc}); columns holding lists/dicts/sets: "
                        f"{', '.join(bad) or '?'}; convert them to strings (e.g. df[col].map(json.dumps))") from exc


def _check_frame(df: Any) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"a dataset snapshot takes a pandas DataFrame; got {type(df).__name__} (wrap arrays with "
                        "pd.DataFrame(...))")
    if isinstance(df.columns, pd.MultiIndex):
        raise DataError("a dataset snapshot needs flat column names, not a MultiIndex; flatten them "
                        "(df.columns = ['_'.join(map(str, c)) for c in df.columns])")
    if df.shape[1] == 0:
        raise DataError("a dataset snapshot needs at least one column; got a DataFrame with no columns")
    duplicated = df.columns[df.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"column names must be unique in a dataset snapshot; repeated: {duplicated}")
    return df


def content_hash(df: pd.DataFrame) -> str:
    """SHA-256 of a canonical serialization of ``df``: column names and dtypes, index, and every row's values.

    Two frames with equal content (same columns in the same order, dtypes, index and values) hash the same,
    whatever their memory layout or the process that built them.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"x": [1.0, 2.0]})
    >>> content_hash(a) == content_hash(a.copy()), content_hash(a) == content_hash(a.astype("float32"))
    (True, False)
    """
    df = _check_frame(df)
    header = {
        "format": _FORMAT,
        "columns": [_label(c) for c in df.columns],
        "dtypes": [str(t) for t in df.dtypes],
        # the index's values and dtype count, not its class: RangeIndex(3) equals Index([0, 1, 2])
        "index": {"names": [_label(n) for n in df.index.names], "dtype": str(df.index.dtype)},
        "shape": list(df.shape),
    }
    h = hashlib.sha256(json.dumps(header, sort_keys=True).encode())
    h.update(row_hashes(df, index=True).to_numpy().tobytes())  # (n_rows,) little-endian uint64
    return h.hexdigest()


@dataclass(frozen=True)
class DatasetVersion:
    """One immutable snapshot of a named dataset.

    >>> import tempfile, pandas as pd
    >>> from tesla_lab.store import Project
    >>> v = Project.init(tempfile.mkdtemp()).datasets.snapshot("d", pd.DataFrame({"a": [1, 2]}), source="demo")
    >>> v.name, v.version, v.n_rows, v.n_cols, v.schema, v.source
    ('d', 1, 2, 1, {'a': 'int64'}, 'demo')
    """

    name: str
    version: int
    sha256: str
    n_rows: int
    n_cols: int
    schema: dict[str, str]
    created: datetime
    message: str = ""
    source: str | None = None
    _store: DatasetStore | None = field(default=None, repr=False, compare=False)

    def load(self) -> pd.DataFrame:
        """The snapshot's DataFrame (its content hash is checked)."""
        if self._store is None:
            raise StoreError("this DatasetVersion is not attached to a store; get it from project.datasets")
        return self._store.load_version(self.name, self.version)


@dataclass(frozen=True)
class DatasetDiff:
    """What changed between two versions of a dataset. Rows are compared as multisets of row hashes over the
    columns both versions share, so adding a column does not count every row as changed.

    >>> d = DatasetDiff("d", 1, 2, rows_added=3, rows_removed=1, columns_added=["z"], columns_removed=[],
    ...                 dtype_changes={"x": ("int64", "float64")}, n_rows=(10, 12), n_cols=(2, 3))
    >>> print(d)
    d v1 → v2: rows 10 → 12 (+3 added, -1 removed); columns 2 → 3
      columns added: z
      dtype changed: x int64 → float64
    """

    name: str
    v1: int
    v2: int
    rows_added: int
    rows_removed: int
    columns_added: list[str]
    columns_removed: list[str]
    dtype_changes: dict[str, tuple[str, str]]
    n_rows: tuple[int, int]
    n_cols: tuple[int, int]

    @property
    def changed(self) -> bool:
        """True when anything differs."""
        return bool(self.rows_added or self.rows_removed or self.columns_added or self.columns_removed
                    or self.dtype_changes or self.n_rows[0] != self.n_rows[1])

    def __str__(self) -> str:
        lines = [f"{self.name} v{self.v1} → v{self.v2}: rows {self.n_rows[0]} → {self.n_rows[1]} "
                 f"(+{self.rows_added} added, -{self.rows_removed} removed); "
                 f"columns {self.n_cols[0]} → {self.n_cols[1]}"]
        if self.columns_added:
            lines.append(f"  columns added: {', '.join(self.columns_added)}")
        if self.columns_removed:
            lines.append(f"  columns removed: {', '.join(self.columns_removed)}")
        for col, (old, new) in self.dtype_changes.items():
            lines.append(f"  dtype changed: {col} {old} → {new}")
        return "\n".join(lines)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _check_name(name: Any) -> str:
    """A dataset name: letters, digits, '.', '_' and '-' (no path separators, no '..'), at most 128 characters.

    >>> _check_name("../../x")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: a dataset name may hold letters, digits, '.', '_' and '-' (starting with a \
letter or digit, at most 128 characters); got '../../x'
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"a dataset name must be a non-empty string (e.g. 'mnist'); got {name!r}")
    name = name.strip()
    if not _NAME.fullmatch(name) or ".." in name:
        raise ConfigError("a dataset name may hold letters, digits, '.', '_' and '-' (starting with a letter or digit, "
                          f"at most 128 characters); got {name!r}")
    return name


check_dataset_name = _check_name


class DatasetStore:
    """Versioned dataset snapshots of one project (``project.datasets``); files live under ``root``.

    >>> import tempfile, pandas as pd
    >>> from tesla_lab.store import Project
    >>> ds = Project.init(tempfile.mkdtemp()).datasets
    >>> _ = ds.snapshot("d", pd.DataFrame({"a": [1, 2]}), message="first")
    >>> ds.versions("d")[["version", "n_rows", "message", "head"]]
       version  n_rows message  head
    0        1       2   first  True
    """

    def __init__(self, db: Database, root: str | os.PathLike[str]) -> None:
        self._db = db
        self.root = Path(root)

    # ------------------------------------------------------------------------------------------- files
    def _path(self, sha: str) -> Path:
        return self.root / sha[:2] / f"{sha}.parquet"

    def _write(self, df: pd.DataFrame, sha: str) -> None:
        """Write ``df`` as Parquet atomically, after checking it reads back with the same content."""
        target = self._path(sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target, readonly=True, suffix=".parquet") as tmp:
            try:
                df.to_parquet(tmp, engine="pyarrow")
            except Exception as exc:  # pyarrow: mixed-type object columns and other unsupported data
                if is_disk_full(exc) or os_error_in(exc) is not None:  # the disk, not the data
                    raise write_error(target.parent, exc, outcome="nothing was stored (writing the dataset "
                                      "snapshot)", then="load the data again") from exc
                raise DataError(f"this DataFrame cannot be stored as Parquet ({str(exc).splitlines()[0]}); give "
                                "each column one type (e.g. df[col] = df[col].astype(str))") from exc
            back = pd.read_parquet(tmp, engine="pyarrow")
            if content_hash(back) != sha:
                changed = [f"{c} {a} → {b}" for c, a, b in zip(df.columns, df.dtypes, back.dtypes) if str(a) != str(b)]
                raise DataError("this DataFrame does not survive a Parquet round trip unchanged"
                                f"{' (dtypes: ' + '; '.join(changed) + ')' if changed else ''}; convert the columns "
                                "to plain numeric / string / datetime / category dtypes before snapshotting")

    # ------------------------------------------------------------------------------------------- lookup
    def _version(self, row: Any) -> DatasetVersion:
        return DatasetVersion(name=row["name"], version=int(row["version"]), sha256=row["sha256"],
                              n_rows=int(row["n_rows"]), n_cols=int(row["n_cols"]),
                              schema=from_json(row["schema"]), created=to_datetime(row["created"]),
                              message=row["message"], source=row["source"], _store=self)

    def names(self) -> list[str]:
        """Names of every dataset with at least one snapshot."""
        return [r["name"] for r in self._db.query("SELECT name FROM dataset_heads ORDER BY name")]

    def _unknown(self, name: str) -> NotFoundError:
        return NotFoundError(f"no dataset named {name!r}; datasets: {', '.join(self.names()) or '(none yet)'}; "
                             f"create one with `tesla load -d FILE -o {shlex.quote(name)}` "
                             f"(Python: project.datasets.snapshot({name!r}, df))")

    def _existing_versions(self, name: str) -> list[int]:
        return [int(r[0]) for r in self._db.query("SELECT version FROM dataset_versions WHERE name = ? "
                                                  "ORDER BY version", (name,))]

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """Version ``version`` of ``name`` (the head by default)."""
        name = _check_name(name)
        if version is None:
            row = self._db.query_one("SELECT v.* FROM dataset_versions v JOIN dataset_heads h ON "
                                     "v.name = h.name AND v.version = h.version WHERE h.name = ?", (name,))
            if row is None:
                raise self._unknown(name)
            return self._version(row)
        row = self._db.query_one("SELECT * FROM dataset_versions WHERE name = ? AND version = ?", (name, int(version)))
        if row is None:
            existing = self._existing_versions(name)
            if not existing:
                raise self._unknown(name)
            raise NotFoundError(f"dataset {name!r} has no version {version}; its versions: "
                                f"{', '.join(map(str, existing))}")
        return self._version(row)

    def head(self, name: str) -> DatasetVersion:
        """The current head version of ``name``."""
        return self.get(name)

    def versions(self, name: str) -> pd.DataFrame:
        """Every version of ``name``: ``version, sha256, n_rows, n_cols, created, message, source, head``."""
        name = _check_name(name)
        head = self.get(name).version  # raises for an unknown name
        rows = self._db.query("SELECT * FROM dataset_versions WHERE name = ? ORDER BY version", (name,))
        columns = ["version", "sha256", "n_rows", "n_cols", "created", "message", "source"]
        frame = pd.DataFrame([[r[c] for c in columns] for r in rows], columns=columns)
        frame["created"] = to_timestamps(frame["created"])
        frame["head"] = frame["version"] == head
        return frame

    def list_datasets(self) -> pd.DataFrame:
        """One row per dataset: ``name, head, versions, n_rows, n_cols, updated`` (of the head)."""
        rows = self._db.query(
            "SELECT h.name, h.version AS head, (SELECT COUNT(*) FROM dataset_versions c WHERE c.name = h.name) "
            "AS versions, v.n_rows, v.n_cols, h.updated FROM dataset_heads h JOIN dataset_versions v "
            "ON v.name = h.name AND v.version = h.version ORDER BY h.name")
        columns = ["name", "head", "versions", "n_rows", "n_cols", "updated"]
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        frame["updated"] = to_timestamps(frame["updated"])
        return frame

    def resolve(self, dataset: Any) -> tuple[str, int]:
        """``(name, version)`` for a name (its head), a ``(name, version)`` pair or a :class:`DatasetVersion`."""
        if isinstance(dataset, DatasetVersion):
            return dataset.name, dataset.version
        if isinstance(dataset, str):
            v = self.get(dataset)
            return v.name, v.version
        if isinstance(dataset, (tuple, list)) and len(dataset) == 2:
            v = self.get(dataset[0], int(dataset[1]))
            return v.name, v.version
        raise ConfigError(f"dataset must be a dataset name, a (name, version) pair or a DatasetVersion; got "
                          f"{type(dataset).__name__} {dataset!r}")

    # ------------------------------------------------------------------------------------------ changes
    def snapshot(self, name: str, df: pd.DataFrame, message: str = "", source: str | None = None) -> DatasetVersion:
        """Store ``df`` as the next version of ``name`` and make it the head.

        When ``df`` has the same content as the current head, nothing is added and the head is returned;
        content equal to an older version becomes a new version that shares its file.
        """
        name = _check_name(name)
        df = _check_frame(df)
        sha = content_hash(df)
        if not self._path(sha).is_file():
            self._write(df, sha)
        schema = json.dumps({str(c): str(t) for c, t in df.dtypes.items()})
        with self._db.transaction() as conn:
            head = conn.execute("SELECT v.version, v.sha256 FROM dataset_versions v JOIN dataset_heads h ON "
                                "v.name = h.name AND v.version = h.version WHERE h.name = ?", (name,)).fetchone()
            if head is not None and head["sha256"] == sha:
                version = int(head["version"])
            else:
                version = int(conn.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM dataset_versions WHERE name = ?",
                                           (name,)).fetchone()[0])
                stamp = now()
                conn.execute("INSERT INTO dataset_versions (name, version, sha256, n_rows, n_cols, schema, created, "
                             "message, source) VALUES (?,?,?,?,?,?,?,?,?)",
                             (name, version, sha, int(df.shape[0]), int(df.shape[1]), schema, stamp, str(message),
                              None if source is None else str(source)))
                conn.execute("INSERT INTO dataset_heads (name, version, updated) VALUES (?,?,?) ON CONFLICT (name) "
                             "DO UPDATE SET version = excluded.version, updated = excluded.updated",
                             (name, version, stamp))
        return self.get(name, version)

    def load_version(self, name: str, version: int | None = None) -> pd.DataFrame:
        """The DataFrame of a version (the head by default); raises :class:`StoreError` if its file is damaged."""
        v = self.get(name, version)
        path = self._path(v.sha256)
        if not path.is_file():
            raise NotFoundError(f"the file of dataset {v.name!r} v{v.version} is missing ({path}); restore it from a "
                                "backup or snapshot the data again")
        try:
            df = pd.read_parquet(path, engine="pyarrow")
        except Exception as exc:
            raise StoreError(f"the file of dataset {v.name!r} v{v.version} ({path}) is not readable Parquet "
                             f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); restore it from "
                             "a backup or snapshot the data again") from exc
        if content_hash(df) != v.sha256:
            raise StoreError(f"the file of dataset {v.name!r} v{v.version} ({path}) is corrupted: its content no "
                             "longer matches its hash; restore it from a backup or snapshot the data again")
        return df

    def diff(self, name: str, v1: int, v2: int) -> DatasetDiff:
        """What changed from version ``v1`` to ``v2`` of ``name`` (rows, columns, dtypes)."""
        a, b = self.get(name, v1), self.get(name, v2)
        da, db = self.load_version(name, a.version), self.load_version(name, b.version)
        cols_a, cols_b = [str(c) for c in da.columns], [str(c) for c in db.columns]
        common = [c for c in cols_a if c in cols_b]
        da.columns, db.columns = cols_a, cols_b
        dtype_changes = {c: (str(da[c].dtype), str(db[c].dtype)) for c in common if da[c].dtype != db[c].dtype}
        if common:
            ha, hb = Counter(row_hashes(da[common]).tolist()), Counter(row_hashes(db[common]).tolist())
            added, removed = sum((hb - ha).values()), sum((ha - hb).values())
        else:  # nothing in common: every row is new
            added, removed = len(db), len(da)
        return DatasetDiff(name=a.name, v1=a.version, v2=b.version, rows_added=added, rows_removed=removed,
                           columns_added=[c for c in cols_b if c not in cols_a],
                           columns_removed=[c for c in cols_a if c not in cols_b], dtype_changes=dtype_changes,
                           n_rows=(a.n_rows, b.n_rows), n_cols=(a.n_cols, b.n_cols))

    def rollback(self, name: str, version: int) -> DatasetVersion:
        """Make ``version`` the head of ``name`` again (snapshots stay; nothing is deleted)."""
        target = self.get(name, version)  # raises, listing the versions, before anything changes
        with self._db.transaction() as conn:
            conn.execute("UPDATE dataset_heads SET version = ?, updated = ? WHERE name = ?",
                         (target.version, now(), target.name))
        return target

    def __repr__(self) -> str:
        return f"DatasetStore({str(self.root)!r})"
