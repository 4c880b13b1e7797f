"""Finding the data a command means: a dataset of the project's store (``train``, ``train@2``), a file, or a sample.

``tesla load`` snapshots a file as a dataset version and remembers it (and its target) as the project's default
for ``tesla train``; training on a file or sample snapshots it too, so every run points to an immutable version.

>>> import tempfile
>>> from tesla_lab.store import Project
>>> project = Project.init(tempfile.mkdtemp())
>>> version = load_dataset(project, "iris", "flowers")
>>> version.name, version.version, version.n_rows, dataset_target(project, "flowers"), last_dataset(project)
('flowers', 1, 150, 'target', 'flowers')
>>> resolve_data(project, "flowers@1").frame.shape
(150, 5)
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab import data
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store import DatasetVersion, Project
from tesla_lab.store.datasets import check_dataset_name

__all__ = ["DataSource", "parse_ref", "resolve_data", "frame_source", "load_dataset", "snapshot_source",
           "dataset_target", "last_dataset", "remember_dataset"]

logger = logging.getLogger(__name__)

_META = "tesla_lab.workflow."
_REF = re.compile(r"^(?P<name>.+?)@v?(?P<version>\d+)$")


@dataclass
class DataSource:
    """A loaded table and where it came from.

    ``kind``: ``'store'`` (a dataset version), ``'file'``, ``'sample'`` or ``'frame'`` (a DataFrame passed in);
    ``name``/``version``: the dataset in the store (``version`` is None until the data is snapshotted);
    ``target`` / ``image_shape``: hints from ``tesla load`` or the sample's description.
    """

    frame: pd.DataFrame
    kind: str
    name: str
    version: int | None
    origin: str
    target: str | None = None
    image_shape: tuple[int, ...] | None = None

    @property
    def ref(self) -> str:
        """``name@version`` (or the origin when not stored yet)."""
        return f"{self.name}@{self.version}" if self.version is not None else self.origin


def parse_ref(spec: str) -> tuple[str, int | None]:
    """``'train@2'`` → ``('train', 2)``; ``'train'`` → ``('train', None)``.

    >>> parse_ref("train@v3"), parse_ref("data.csv")
    (('train', 3), ('data.csv', None))
    """
    m = _REF.match(spec)
    return (m.group("name"), int(m.group("version"))) if m else (spec, None)


# --------------------------------------------------------------------------------------------- memory (meta)
def _meta_get(project: Project, key: str) -> str | None:
    row = project.db.query_one("SELECT value FROM meta WHERE key = ?", (_META + key,))
    return None if row is None else str(row["value"])


def _meta_set(project: Project, values: dict[str, str]) -> None:
    with project.db.transaction() as conn:
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = "
                         "excluded.value", [(_META + k, v) for k, v in values.items()])


def remember_dataset(project: Project, name: str, target: str | None = None) -> None:
    """Make ``name`` the project's default dataset (and ``target`` its default target)."""
    values = {"last_dataset": name}
    if target is not None:
        values[f"target:{name}"] = target
    _meta_set(project, values)


def last_dataset(project: Project) -> str | None:
    """The dataset ``tesla load`` stored last (the default of ``tesla train``), or None."""
    return _meta_get(project, "last_dataset")


def dataset_target(project: Project, name: str) -> str | None:
    """The target column given when dataset ``name`` was loaded, or None."""
    return _meta_get(project, f"target:{name}")


# -------------------------------------------------------------------------------------------------- loading
def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.attrs = {}  # sample metadata is kept in DataSource, not in the stored Parquet file
    return frame


def _file_stem(path: str) -> str:
    """``data/train.csv.gz`` → ``train``: the dataset name a file is stored under."""
    p = Path(path)
    if p.suffix.lower() in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        p = Path(p.stem)
    return p.stem or p.name


def _from_loader(spec: str, kind: str, options: dict[str, Any] | None = None) -> DataSource:
    frame = data.load(spec, **(options or {}))
    info = frame.attrs.get("sample_info") or {}
    shape = info.get("image_shape") or frame.attrs.get("image_shape")
    name = info.get("name") or (_file_stem(spec) if kind == "file" else spec)
    return DataSource(frame=_plain_frame(frame), kind=kind, name=str(name), version=None, origin=spec,
                      target=info.get("target"), image_shape=tuple(shape) if shape else None)


def _looks_like_file(spec: str) -> bool:
    return bool(Path(spec).suffix) or os.sep in spec or "/" in spec or Path(spec).exists()


def resolve_data(project: Project, spec: str | None = None) -> DataSource:
    """Load what ``spec`` names, in this order: a dataset of the store (``name`` = its head, ``name@N``), a file
    path, a sample (``iris``, ``sample:digits``); ``None`` means the dataset ``tesla load`` stored last.
    Nothing is written.

    >>> import tempfile
    >>> resolve_data(Project.init(tempfile.mkdtemp()), "trian")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: dataset 'trian' is not a dataset of this project (none yet), a file, or a sample \
(breast_cancer, diabetes, digits, ...); load data with `tesla load -d FILE -o NAME`
    """
    if spec is None:
        spec = last_dataset(project)
        if spec is None:
            raise ConfigError("no dataset given and none loaded yet; run `tesla load -d FILE -o NAME` first, or pass "
                              "a dataset (a file, a sample name such as 'iris', or NAME@VERSION)")
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"a dataset is a file path, a sample name or NAME[@VERSION]; got {spec!r}")
    spec = spec.strip()
    stored = project.datasets.names()
    name, version = parse_ref(spec)
    if name in stored:
        v = project.datasets.get(name, version)
        return DataSource(frame=project.datasets.load_version(name, v.version), kind="store", name=v.name,
                          version=v.version, origin=f"{v.name}@{v.version}", target=dataset_target(project, v.name))
    if version is not None and not Path(spec).exists():
        project.datasets.get(name, version)  # raises NotFoundError listing the datasets
    if _looks_like_file(spec):
        return _from_loader(spec, "file")
    if spec.startswith("sample:") or spec in data.samples.SAMPLES:
        return _from_loader(spec, "sample")
    samples = ", ".join(data.list_samples())
    raise DataError(f"dataset {spec!r} is not a dataset of this project ({', '.join(stored) or 'none yet'}), a file, "
                    f"or a sample ({samples}); load data with `tesla load -d FILE -o NAME`")


def frame_source(data: Any, dataset: str | None, name: str, *, option: str = "the dataset option") -> DataSource:
    """A :class:`DataSource` for a DataFrame passed as ``data=``, to be stored as ``dataset`` (a name, no
    ``@VERSION``) or else ``name``; ``option`` names where ``dataset`` came from, in the errors. Nothing is written.

    >>> frame_source(pd.DataFrame({"x": [1.0]}), None, "mine").name
    'mine'
    >>> frame_source(pd.DataFrame({"x": [1.0]}), "d@2", "mine", option="the config's dataset")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: with data= the config's dataset is the name to store it under, without \
'@VERSION'; got 'd@2'
    """
    if not isinstance(data, pd.DataFrame):
        raise ConfigError(f"data must be a pandas DataFrame (or leave it out and set {option}); got "
                          f"{type(data).__name__}")
    if dataset is not None and "@" in dataset:
        raise ConfigError(f"with data= {option} is the name to store it under, without '@VERSION'; got {dataset!r}")
    return DataSource(frame=data, kind="frame", name=dataset or name, version=None, origin="DataFrame")


def snapshot_source(project: Project, source: DataSource, name: str | None = None, message: str = "") -> DataSource:
    """Store ``source`` as a dataset version unless it already is one; returns it with ``name``/``version`` set."""
    if source.version is not None and name in (None, source.name):
        return source
    target_name = name or source.name
    version = project.datasets.snapshot(target_name, source.frame, message=message or f"from {source.origin}",
                                        source=source.origin)
    logger.info("stored %s as dataset %s v%d", source.origin, version.name, version.version)
    return DataSource(frame=source.frame, kind=source.kind, name=version.name, version=version.version,
                      origin=source.origin, target=source.target, image_shape=source.image_shape)


def load_dataset(project: Project, source: str, name: str, *, target: str | None = None,
                 message: str = "", options: dict[str, Any] | None = None,
                 inf_as_missing: bool = False) -> DatasetVersion:
    """``tesla load``: read ``source`` (file or sample), check ``target`` is a column, snapshot it as the next
    version of dataset ``name`` and make it the default for training. Nothing is stored when a check fails.
    ``options`` go to the file's reader (``encoding``, ``on_bad_lines``, ``query``, ``table``, ``trust``, ...);
    ``inf_as_missing`` stores infinite numbers as missing values (which training fills).

    >>> import tempfile
    >>> load_dataset(Project.init(tempfile.mkdtemp()), "iris", "flowers", target="species")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: target column 'species' not found; columns are: sepal length (cm), sepal width \
(cm), petal length (cm), petal width (cm), target
    """
    if not isinstance(name, str) or not name.strip() or "@" in name:
        raise ConfigError(f"a dataset name must be a non-empty string without '@' (e.g. 'train'); got {name!r}")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"tesla load needs a file path or sample name; got {source!r}")
    is_sample = not _looks_like_file(source) and (source.startswith("sample:") or source in data.samples.SAMPLES)
    check_dataset_name(name)  # before reading anything
    loaded = _from_loader(source, "sample" if is_sample else "file", options)
    if inf_as_missing:
        numeric = loaded.frame.select_dtypes("number").columns
        infinite = int(np.isinf(loaded.frame[numeric].to_numpy(dtype=float)).sum()) if len(numeric) else 0
        if infinite:
            loaded.frame[numeric] = loaded.frame[numeric].replace([np.inf, -np.inf], np.nan)
            logger.info("%s: %d infinite value(s) stored as missing", source, infinite)
    if target is not None:
        data.ingest.select_columns(loaded.frame, None, target)  # DataError naming the columns
    stored = snapshot_source(project, loaded, name.strip(), message)
    remember_dataset(project, stored.name, target or loaded.target)
    return project.datasets.get(stored.name, stored.version)
