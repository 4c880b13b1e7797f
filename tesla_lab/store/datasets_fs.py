"""Dataset snapshots shared through the artifacts' fsspec URL: with ``artifacts: s3://bucket/prefix`` (or
``file:///shared/...``), the Parquet snapshots go to ``<prefix>/datasets/<sha[:2]>/<sha>.parquet`` as well, so a
dataset version registered on one machine loads on every machine sharing the store. The local
``.tesla/datasets`` folder stays the working copy (written first, checked, then uploaded; downloaded on first use).

>>> import tempfile, pandas as pd
>>> from tesla_lab.store.db import Database
>>> url = "memory://doc-datasets/shared"
>>> here = FsDatasetStore(Database(tempfile.mkdtemp() + "/s.db"), tempfile.mkdtemp(), url)
>>> v = here.snapshot("iris", pd.DataFrame({"x": [1.0, 2.0]}))
>>> there = FsDatasetStore(here._db, tempfile.mkdtemp(), url)  # another machine: empty local folder
>>> there.load_version("iris")["x"].tolist()
[1.0, 2.0]
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from tesla_lab._atomic import atomic_path
from tesla_lab.errors import ConfigError
from tesla_lab.store.datasets import DatasetStore
from tesla_lab.store.db import Database

__all__ = ["FsDatasetStore"]


class FsDatasetStore(DatasetStore):
    """A :class:`DatasetStore` whose snapshots are also kept under ``<url>/datasets`` on an fsspec file system."""

    def __init__(self, db: Database, root: str | os.PathLike[str], url: str) -> None:
        import fsspec

        super().__init__(db, root)
        try:
            self.fs, base = fsspec.core.url_to_fs(url)
        except (ImportError, ValueError) as exc:
            raise ConfigError(f"artifacts: {url!r} is not a file system fsspec can open ({exc})") from exc
        self._base = f"{base.rstrip('/')}/datasets"
        self.url = url

    def _remote(self, sha: str) -> str:
        return f"{self._base}/{sha[:2]}/{sha}.parquet"

    def _path(self, sha: str) -> Path:
        local = super()._path(sha)
        if not local.is_file() and self.fs.exists(self._remote(sha)):  # another machine's snapshot: fetch it once
            local.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(local, readonly=True, suffix=".parquet") as tmp:
                self.fs.get_file(self._remote(sha), str(tmp))
        return local

    def _write(self, df: pd.DataFrame, sha: str) -> None:
        super()._write(df, sha)  # checked locally first; load_version checks the content hash on every read
        remote = self._remote(sha)
        if not self.fs.exists(remote):
            part = f"{remote}.part-{os.getpid()}"
            self.fs.makedirs(remote.rsplit("/", 1)[0], exist_ok=True)
            self.fs.put_file(str(super()._path(sha)), part)
            self.fs.mv(part, remote)

    def __repr__(self) -> str:
        return f"FsDatasetStore({self.url!r})"
