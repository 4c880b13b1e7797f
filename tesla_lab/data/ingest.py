"""Load tabular data from files, databases, MNIST folders and sample sets into a :class:`pandas.DataFrame`.

:func:`load` picks the reader from the source: a sample name (``"iris"``, ``"sample:digits"``), a URL scheme
(``sqlite:///x.db``, ``postgresql://...``), a directory of MNIST IDX files, or the file extension
(``.csv``, ``.tsv``, ``.json``, ``.jsonl``, ``.parquet``, ``.pkl``, ``.db``). Readers turn pandas/pyarrow errors into
:class:`~tesla_lab.errors.DataError` messages that name the file, the line when known, and the fix.

The readers live in :mod:`~tesla_lab.data.formats` (CSV, JSON, Parquet, pickle) and :mod:`~tesla_lab.data.sql`,
source recognition and :func:`select_columns` in :mod:`~tesla_lab.data.sources`; they are re-exported here.

>>> load("iris", target="target").shape
(150, 5)
>>> load("iris", target="species")
Traceback (most recent call last):
...
tesla_lab.errors.DataError: target column 'species' not found; columns are: sepal length (cm), sepal width (cm), \
petal length (cm), petal width (cm), target
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pandas as pd

from tesla_lab.data import mnist, samples
from tesla_lab.data.formats import load_csv, load_json, load_parquet, load_pickle
from tesla_lab.data.limits import download_capped
from tesla_lab.data.sources import PathLike, _is_compressed, _is_url, _suffix, select_columns
from tesla_lab.data.sql import load_sql
from tesla_lab.errors import ConfigError, DataError

__all__ = [
    "load",
    "load_csv",
    "load_json",
    "load_parquet",
    "load_pickle",
    "load_sql",
    "load_mnist_frame",
    "select_columns",
]

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------- MNIST, samples
def load_mnist_frame(
    dir_or_files: PathLike | tuple[PathLike, PathLike], *, kind: str = "train"
) -> pd.DataFrame:
    """MNIST as a DataFrame: one ``pixel_<row>_<col>`` column per pixel plus ``target``.

    ``dir_or_files`` is a directory holding the standard files, or an ``(images, labels)`` pair of IDX paths.
    ``df.attrs['image_shape']`` keeps the image shape.

    >>> load_mnist_frame("no/such/dir")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: MNIST directory 'no/such/dir' not found; check the path
    """
    if isinstance(dir_or_files, (tuple, list)):
        if len(dir_or_files) != 2:
            raise ConfigError(f"pass (images_path, labels_path); got {len(dir_or_files)} paths")
        images, labels = mnist.read_idx(dir_or_files[0]), mnist.read_idx(dir_or_files[1])
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataError(
                f"expected images (N, rows, cols) and labels (N,); got {images.shape} and {labels.shape}"
            )
    else:
        images, labels = mnist.load_mnist(dir_or_files, kind)  # type: ignore[arg-type]
    n, rows, cols = images.shape
    columns = [f"pixel_{r}_{c}" for r in range(rows) for c in range(cols)]
    df = pd.DataFrame(images.reshape(n, rows * cols), columns=columns)
    df["target"] = labels.astype("int64")
    df.attrs["image_shape"] = (rows, cols)
    return df


def _sample_frame(name: str) -> pd.DataFrame:
    frame, info = samples.load_sample(name)
    frame.attrs["sample_info"] = info.to_dict()
    return frame


# -------------------------------------------------------------------------------------------------- load()
_READERS = {
    ".csv": load_csv,
    ".tsv": load_csv,
    ".txt": load_csv,
    ".json": load_json,
    ".jsonl": load_json,
    ".ndjson": load_json,
    ".parquet": load_parquet,
    ".pq": load_parquet,
    ".pkl": load_pickle,
    ".pickle": load_pickle,
    ".db": None,  # SQLite: needs query= or table= (or a single table)
    ".sqlite": None,
    ".sqlite3": None,
}


def load(
    source: Any,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    **kw: Any,
) -> pd.DataFrame:
    """Load ``source`` into a DataFrame, choosing the reader from its name; ``kw`` go to that reader.

    ``source`` may be: a DataFrame (copied); a sample name (``"digits"`` or ``"sample:digits"``); a directory of
    MNIST IDX files (``kind='train'|'t10k'``); a database URL or SQLite file with ``query=`` or ``table=``; or a
    file/URL ending in .csv, .tsv, .txt, .json, .jsonl, .ndjson, .parquet, .pq, .pkl, .pickle (``trust=True``),
    .db, .sqlite, .sqlite3 (optionally compressed: .gz, .bz2, .xz, .zip, .zst). ``columns`` keeps only those
    columns (plus ``target``); ``target`` must be a column.

    >>> load("data.xlsx")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: cannot tell how to read 'data.xlsx' (extension '.xlsx'); use one of .csv, .tsv, \
.txt, .json, .jsonl, .ndjson, .parquet, .pq, .pkl, .pickle, .db, .sqlite, .sqlite3, a sample name \
(breast_cancer, ...), a database URL or an MNIST directory
    """
    if isinstance(columns, str):
        columns = [columns]
    parquet = isinstance(source, (str, os.PathLike)) and _suffix(os.fspath(source)) in (".parquet", ".pq")
    if columns is not None and parquet:  # a columnar file: read only the columns asked for
        kw.setdefault("columns", list(dict.fromkeys([*columns, *([target] if target is not None else [])])))
    return select_columns(_dispatch(source, kw), columns, target)


_REMOTE_FILES = r"^(https?|s3|gs|gcs|az|abfs)://"


def _load_remote(url: str, ext: str, kw: dict[str, Any]) -> pd.DataFrame:
    """Files behind a URL: pandas fetches them itself (so no local existence or binary checks), except compressed
    files over HTTP(S), which are downloaded and then read like local ones (under the decompression cap)."""
    name = Path(urlparse(url).path).name
    if url.lower().startswith(("http://", "https://")) and _is_compressed(Path(name)):
        with tempfile.TemporaryDirectory(prefix="tesla-download-") as tmp:
            path = Path(tmp) / name
            download_capped(url, path, kw.get("limits"))
            try:
                return _dispatch(path, kw)
            except DataError as exc:  # name the URL, not the temporary file
                raise DataError(str(exc).replace(str(path), url)) from None
    if ext in (".csv", ".tsv", ".txt"):
        if ext == ".tsv":
            kw.setdefault("sep", "\t")
        return pd.read_csv(url, **kw)
    if ext in (".json", ".jsonl", ".ndjson"):
        kw.setdefault("lines", ext != ".json")
        return pd.read_json(url, **kw)
    if ext in (".parquet", ".pq"):
        return pd.read_parquet(url, **kw)
    raise ConfigError(
        f"cannot read {ext or 'extension-less'} files from a URL ({url!r}); download it first and load the local "
        "file, or use a .csv, .json, .jsonl or .parquet URL"
    )


def _dispatch(source: Any, kw: dict[str, Any]) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if isinstance(source, pd.Series):
        return source.to_frame()
    if not isinstance(source, (str, os.PathLike)):
        raise ConfigError(
            f"load() takes a path, URL, sample name or DataFrame; got {type(source).__name__}; for arrays use "
            "pandas.DataFrame(array)"
        )
    text = os.fspath(source)
    if text.startswith("sample:"):
        return _sample_frame(text.removeprefix("sample:"))
    if text.startswith("mnist:"):
        return load_mnist_frame(text.removeprefix("mnist:"), **kw)
    if text.startswith("file://"):
        text = url2pathname(urlparse(text).path)
    elif _is_url(text):
        if re.match(_REMOTE_FILES, text):
            return _load_remote(text, _suffix(text), kw)
        return load_sql(kw.pop("query", None), text, **kw)
    path = Path(text).expanduser()
    if path.is_dir():
        return load_mnist_frame(path, **kw)
    ext = _suffix(text)
    if ext in _READERS:
        reader = _READERS[ext]
        if reader is None:
            if _is_compressed(path):
                raise DataError(f"'{path}' is a compressed SQLite database; SQLite reads only plain files: "
                                f"decompress it first (e.g. gunzip -k '{path}') and load the {ext} file")
            return load_sql(kw.pop("query", None), path, **kw)
        return reader(path, **kw)
    if not ext and not path.exists() and text in samples.SAMPLES:
        return _sample_frame(text)
    shown = "a sample name (" + ", ".join(samples.list_samples()[:1]) + ", ...)"
    raise ConfigError(
        f"cannot tell how to read {text!r} (extension {ext!r}); use one of {', '.join(_READERS)}, {shown}, "
        "a database URL or an MNIST directory"
    )

