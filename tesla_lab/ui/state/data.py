"""The Data view's state: load a sample, an uploaded file, a path or a database; preview it; choose the target and
the features; store dataset versions.

>>> state = DataState()
>>> _ = state.load_sample("iris")
>>> state.frame.shape, state.target, state.task, state.n_outputs()
((150, 5), 'target', 'classification', 3)
>>> state.schema()[["column", "dtype", "missing", "role"]].tail(2)
              column    dtype  missing     role
3   petal width (cm)  float64        0  feature
4             target    int64        0   target
>>> state.target = "species"
>>> state.validate(), state.error
(False, "cannot use this data for training: target column 'species' not found; columns are: sepal length (cm), ...")
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from tesla_lab import data
from tesla_lab.data.isolated import profile_isolated
from tesla_lab.data.profile import PROFILE_COLUMNS, profile_columns
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.store import DatasetVersion, Project
from tesla_lab.ui.state.base import StateBase, action, param
from tesla_lab.workflow.preprocess import column_kinds, detect_task

__all__ = ["DataState", "SOURCES"]

logger = logging.getLogger(__name__)

SOURCES = ("sample", "upload", "path")


def max_upload_bytes() -> int:
    """The largest upload the Data view accepts: ``$TESLA_MAX_UPLOAD_MB`` (default 200) MB."""
    value = os.environ.get("TESLA_MAX_UPLOAD_MB", "").strip()
    try:
        return int(float(value) * 2**20) if value else 200 * 2**20
    except ValueError as exc:
        raise ConfigError(f"$TESLA_MAX_UPLOAD_MB must be a number of megabytes; got {value!r}") from exc


def _dataset_name(text: str) -> str:
    """A store-friendly dataset name from a file name (``'My data.csv'`` → ``'My_data'``)."""
    stem = Path(text).name
    for _ in range(2):  # data.csv.gz -> data
        stem = Path(stem).stem if Path(stem).suffix else stem
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem).strip("_.")
    return cleaned or "data"


class DataState(StateBase):
    """Load data and decide what to train on.

    Args:
        project: the project whose store keeps dataset versions (``None``: no versions, e.g. a bare notebook).
    """

    source = param.Selector(default="sample", objects=list(SOURCES), doc="where the data comes from")
    sample = param.Selector(default="digits", objects=["digits"], doc="the sample dataset to load")
    path = param.String(default="", doc="a file path, a folder of MNIST files, or a database URL / SQLite file")
    query = param.String(default="", doc="the SQL query (or table name) for a database source")
    frame = param.DataFrame(default=None, allow_None=True, doc="the loaded table")
    origin = param.String(default="", doc="where the table came from (sample:digits, a path, upload:name.csv)")
    dataset_name = param.String(default="", doc="the name it is stored under in the project")
    dataset_version = param.Integer(default=None, allow_None=True, doc="its stored version (None: not stored)")
    image_shape = param.Parameter(default=None, doc="(H, W) when each row is an image, else None")
    target = param.Selector(default=None, objects=[], allow_None=True, check_on_set=False)
    features = param.ListSelector(default=[], objects=[], check_on_set=False)
    task = param.String(default="", doc="classification or regression (detected from the target)")

    def __init__(self, project: Project | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.project = project
        self._profile: tuple[pd.DataFrame | None, pd.DataFrame | None] = (None, None)  # (of frame, its profile)
        names = data.list_samples()
        self.param.sample.objects = names
        if self.sample not in names:
            self.sample = names[0]

    # ------------------------------------------------------------------------------------------- loading
    @action("cannot load the sample")
    def load_sample(self, name: str | None = None) -> pd.DataFrame:
        """Load a sample dataset (``name`` or the selected one)."""
        name = name or self.sample
        frame, info = data.load_sample(name)
        if name in self.param.sample.objects:
            self.sample = name
        self.source = "sample"
        self._set(frame, origin=f"sample:{info.name}", name=info.name, target=info.target,
                  image_shape=info.image_shape)
        self.message = f"loaded sample {info.name!r}: {info.description}"
        return frame

    @action("cannot read the uploaded file")
    def load_upload(self, filename: str, content: bytes) -> pd.DataFrame:
        """Load an uploaded file (its name picks the reader: .csv, .parquet, .json, ...)."""
        if not isinstance(filename, str) or not filename.strip():
            raise ConfigError("an upload needs its file name (the extension tells how to read it)")
        if not content:
            raise DataError(f"the uploaded file {filename!r} is empty; choose a file with data in it")
        limit = max_upload_bytes()
        if len(content) > limit:
            raise DataError(f"the uploaded file {filename!r} has {len(content) / 2**20:.0f} MB, more than the "
                            f"{limit // 2**20} MB an upload may have; give its path (Path / SQL) instead, or raise "
                            "the limit (TESLA_MAX_UPLOAD_MB)")
        base = Path(filename).name
        self.message = f"reading {base} ({len(content) / 2**20:.1f} MB) ..."
        with tempfile.TemporaryDirectory(prefix="tesla-upload-") as tmp:
            path = Path(tmp) / base
            path.write_bytes(bytes(content))
            try:  # in a worker process with a time limit: the server keeps answering meanwhile
                frame, profile = profile_isolated(path, label=base)
            except DataError as exc:  # name the file as the user knows it, not the temporary path
                raise DataError(str(exc).replace(str(path), base)) from None
        self.source = "upload"
        self._set(frame, origin=f"upload:{base}", name=_dataset_name(base), profile=profile)
        self.message = f"loaded {base}: {frame.shape[0]} rows, {frame.shape[1]} columns"
        return frame

    @action("cannot load the data")
    def load_path(self, path: str | None = None, query: str | None = None) -> pd.DataFrame:
        """Load a file, an MNIST folder or a database (``path`` a SQLite file or URL, ``query`` SQL or a
        table name)."""
        path = (path if path is not None else self.path).strip()
        query = (query if query is not None else self.query).strip()
        if not path:
            raise ConfigError("give a file path, a folder of MNIST files or a database URL (sqlite:///file.db)")
        self.path, self.query = path, query
        kw: dict[str, Any] = {}
        if query:
            is_table = query.replace("_", "").replace(".", "").isalnum()
            kw["table" if is_table else "query"] = query
        frame, profile = profile_isolated(path, **kw)  # a worker process with a time limit, as for uploads
        self.source = "path"
        shape = frame.attrs.get("image_shape")
        self._set(frame, origin=path + (f" ({query})" if query else ""), name=_dataset_name(path),
                  image_shape=tuple(shape) if shape else None, profile=profile)
        self.message = f"loaded {path}: {frame.shape[0]} rows, {frame.shape[1]} columns"
        return frame

    @action("cannot load the dataset version")
    def load_version(self, name: str, version: int | None = None) -> pd.DataFrame:
        """Load a stored dataset version (the head when ``version`` is None)."""
        store = self._store()
        v = store.get(name, version)
        frame = store.load_version(v.name, v.version)
        self._set(frame, origin=f"{v.name}@{v.version}", name=v.name, version=v.version,
                  image_shape=self.image_shape if v.name == self.dataset_name else None)
        self.message = f"loaded dataset {v.name} v{v.version}"
        return frame

    def set_frame(self, frame: pd.DataFrame, *, name: str = "data", target: str | None = None,
                  image_shape: tuple[int, ...] | None = None) -> None:
        """Use a DataFrame from the notebook (``tesla.ui.DataLoader(df)``)."""
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"set_frame takes a pandas DataFrame; got {type(frame).__name__}")
        self._set(frame, origin="DataFrame", name=name, target=target, image_shape=image_shape)

    def _set(self, frame: pd.DataFrame, *, origin: str, name: str, target: str | None = None,
             version: int | None = None, image_shape: tuple[int, ...] | None = None,
             profile: pd.DataFrame | None = None) -> None:
        if frame.shape[1] == 0 or frame.shape[0] == 0:
            raise DataError(f"{origin} holds no data ({frame.shape[0]} rows, {frame.shape[1]} columns)")
        columns = [str(c) for c in frame.columns]
        frame = frame.set_axis(columns, axis=1)
        self._profile = (frame, profile.assign(column=columns) if profile is not None else None)
        target = target if target in columns else ("target" if "target" in columns else columns[-1])
        self.param.target.objects = columns
        self.param.features.objects = columns
        task = detect_task(frame[target])
        self.param.update(origin=origin, dataset_name=name, dataset_version=version,
                          image_shape=tuple(image_shape) if image_shape else None, frame=frame, target=target,
                          features=[c for c in columns if c != target], task=task)

    @param.depends("target", watch=True)
    def _target_changed(self) -> None:
        if self.frame is None:
            return
        if self.target in self.features:
            self.features = [c for c in self.features if c != self.target]
        self.task = self._detect_task()

    def _detect_task(self) -> str:
        if self.frame is None or self.target not in self.frame.columns:
            return ""
        return detect_task(self.frame[self.target])

    # ------------------------------------------------------------------------------------------- views
    def preview(self, n: int = 20) -> pd.DataFrame:
        """The first ``n`` rows (an empty table before anything is loaded)."""
        return pd.DataFrame() if self.frame is None else self.frame.head(n)

    def schema(self) -> pd.DataFrame:
        """One row per column: ``column, dtype, missing, missing_pct, unique, example, role``."""
        if self.frame is None:
            return pd.DataFrame(columns=[*PROFILE_COLUMNS, "role"])
        of, profile = self._profile
        if of is not self.frame or profile is None:  # profiled by the loading worker, else now (trusted tables)
            profile = profile_columns(self.frame)
            self._profile = (self.frame, profile)
        features = set(self.features)
        return profile.assign(role=["target" if c == self.target else "feature" if c in features else "unused"
                                    for c in profile["column"]])

    def missing(self) -> pd.Series:
        """Missing values per column (only columns that have some)."""
        if self.frame is None:
            return pd.Series(dtype="int64")
        counts = self.frame.isna().sum()
        return counts[counts > 0]

    # ------------------------------------------------------------------------------------------- checks
    def _check(self) -> tuple[int, int]:
        """``(n_inputs, n_outputs)`` of a model for this data, after the checks training would make."""
        if self.frame is None:
            raise DataError("no data loaded yet; pick a sample, upload a file or give a path first")
        if not self.target:
            raise DataError("choose a target column (what the model learns to predict)")
        data.ingest.select_columns(self.frame, None, self.target)  # names the columns when the target is missing
        features = list(self.features)
        if not features:
            raise DataError(f"choose at least one feature column besides the target {self.target!r}")
        if self.target in features:
            raise DataError(f"the target column {self.target!r} is also selected as a feature; remove it")
        data.ingest.select_columns(self.frame, features)
        y = self.frame[self.target]
        if y.isna().all():
            raise DataError(f"the target column {self.target!r} holds no values")
        numeric, categorical = column_kinds(self.frame, features)
        n_inputs = len(numeric) + sum(int(self.frame[c].nunique(dropna=True)) for c in categorical)
        task = detect_task(y)
        n_outputs = int(y.nunique(dropna=True)) if task == "classification" else 1
        if task == "classification" and n_outputs < 2:
            raise DataError(f"the target column {self.target!r} has a single class; a classifier needs two or more")
        return n_inputs, n_outputs

    @action("cannot use this data for training")
    def _validated(self) -> tuple[int, int]:
        return self._check()

    def validate(self) -> bool:
        """True when the data, target and features can be trained on; otherwise ``error`` says why."""
        return self._validated() is not None

    def n_inputs(self) -> int | None:
        """Model inputs per sample after one-hot encoding of text columns (``None`` while the data is unusable)."""
        try:
            return self._check()[0]
        except (DataError, ConfigError):
            return None

    def n_outputs(self) -> int | None:
        """Model outputs: the class count (classification) or 1 (regression); ``None`` while unusable."""
        try:
            return self._check()[1]
        except (DataError, ConfigError):
            return None

    # ------------------------------------------------------------------------------------------- versions
    def _store(self) -> Any:
        if self.project is None:
            raise ConfigError("dataset versions live in a project; open one (tesla.store.Project(path)) and pass "
                              "it to the view")
        return self.project.datasets

    @action("cannot store the dataset version")
    def snapshot(self, name: str | None = None, message: str = "") -> DatasetVersion:
        """Store the loaded table as the next version of dataset ``name`` (default: its current name)."""
        store = self._store()
        if self.frame is None:
            raise DataError("no data loaded yet; nothing to store")
        name = (name or self.dataset_name or "data").strip()
        if "@" in name:
            raise ConfigError(f"a dataset name cannot contain '@' (it separates the version); got {name!r}")
        version = store.snapshot(name, self.frame, message=message, source=self.origin or None)
        self.dataset_name, self.dataset_version = version.name, version.version
        self.message = f"stored dataset {version.name} v{version.version} ({version.n_rows} rows)"
        return version

    def versions(self, name: str | None = None) -> pd.DataFrame:
        """The stored versions of dataset ``name`` (default: the current one); empty when there are none."""
        name = name or self.dataset_name
        if self.project is None or not name or name not in self.project.datasets.names():
            return pd.DataFrame(columns=["version", "n_rows", "n_cols", "created", "message", "source", "head"])
        return self.project.datasets.versions(name)[["version", "n_rows", "n_cols", "created", "message", "source",
                                                     "head"]]

    def datasets(self) -> pd.DataFrame:
        """Every dataset stored in the project (``name, head, versions, n_rows, n_cols, updated``)."""
        if self.project is None:
            return pd.DataFrame(columns=["name", "head", "versions", "n_rows", "n_cols", "updated"])
        return self.project.datasets.list_datasets()

    def dataset_ref(self) -> str:
        """What a training config names as its dataset: the stored ``name@version``, the sample's name, or (for
        an uploaded or changed table) a new version stored now."""
        if self.dataset_version is not None:
            return f"{self.dataset_name}@{self.dataset_version}"
        if self.origin.startswith("sample:"):
            return self.origin.removeprefix("sample:")
        if self.snapshot(message="stored for training") is None:
            raise DataError(self.error)
        return f"{self.dataset_name}@{self.dataset_version}"
