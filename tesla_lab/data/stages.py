"""The TESLA documents' first two pipeline stages: :class:`DataIngestion` (``ingest.load_csv(...)``) and
:class:`DataPreparation` (``prepare.normalize(data)``), thin objects over :mod:`tesla_lab.data`'s loaders and
transforms.

A frame travels through the pipeline with its target column named in ``df.attrs["target"]``: give it once (to
``DataIngestion(target=...)``, to a load call, or to ``DataPreparation(target=...)``) and every later stage
(:mod:`tesla_lab.workflow.stages`: training, evaluation, deployment) finds it there; without one, the target is the
last column. Preparation never touches the target column.

>>> import tempfile, pathlib, pandas as pd
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [10.0, 20.0, 30.0]}).to_csv(folder / "data.csv", index=False)
>>> ingest, prepare = DataIngestion(root=folder), DataPreparation()
>>> data = ingest.load_csv("data.csv")
>>> data = prepare.normalize(data)
>>> data["x"].round(3).tolist(), data["y"].tolist(), frame_target(data)
([-1.225, 0.0, 1.225], [10.0, 20.0, 30.0], 'y')
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tesla_lab.data import ingest
from tesla_lab.data.augment import Augment
from tesla_lab.data.prepare import MinMaxScale, Pipeline, Standardize, Transform
from tesla_lab.errors import ConfigError, DataError, NotFittedError

__all__ = ["DataIngestion", "DataPreparation", "frame_target", "with_target", "TARGET_ATTR"]

logger = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
TARGET_ATTR = "target"  # df.attrs key naming the target column as the frame moves between stages


def with_target(df: pd.DataFrame, target: str | None) -> pd.DataFrame:
    """``df`` with ``target`` recorded in ``df.attrs["target"]`` (checked to be a column); ``None`` keeps what is
    there. Returns ``df`` itself (attrs are metadata, the values are not copied).

    >>> with_target(pd.DataFrame({"a": [1], "b": [2]}), "a").attrs["target"]
    'a'
    >>> with_target(pd.DataFrame({"a": [1]}), "label")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: target column 'label' not found; columns are: a
    """
    if target is None:
        return df
    if not isinstance(target, str) or not target:
        raise ConfigError(f"target must be a column name (a non-empty string); got {target!r}")
    ingest.select_columns(df, None, target)  # DataError listing the columns
    df.attrs[TARGET_ATTR] = target
    return df


def frame_target(df: pd.DataFrame, target: str | None = None) -> str:
    """The target column of ``df``: ``target`` if given, else ``df.attrs["target"]``, else the sample's own target
    (``df.attrs["sample_info"]``), else the last column. The column must exist.

    >>> df = pd.DataFrame({"a": [1.0], "b": [2.0]})
    >>> frame_target(df), frame_target(with_target(df, "a")), frame_target(df, "b")
    ('b', 'a', 'b')
    >>> frame_target(pd.DataFrame())
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: the data has no columns, so it has no target; load a table with a target column
    """
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"pipeline data must be a pandas DataFrame (e.g. from DataIngestion().load_csv); got "
                        f"{type(df).__name__}")
    if target is None:
        target = df.attrs.get(TARGET_ATTR) or (df.attrs.get("sample_info") or {}).get("target")
    if target is None:
        if df.shape[1] == 0:
            raise DataError("the data has no columns, so it has no target; load a table with a target column")
        return str(df.columns[-1])
    ingest.select_columns(df, None, target)
    return str(target)


def _keep_attrs(out: pd.DataFrame, like: pd.DataFrame) -> pd.DataFrame:
    out.attrs = dict(like.attrs)  # not every pandas operation carries attrs over
    return out


class DataIngestion:
    """Loads tables from files, databases, MNIST folders and sample sets; relative paths start at ``root``
    (default: the working directory). ``target`` names the target column for every table it loads (a load call's
    ``target=`` wins); it is checked and kept in ``df.attrs["target"]`` for the later stages.

    >>> DataIngestion(target="target").load_sample("wine").attrs["target"]
    'target'
    """

    def __init__(self, root: PathLike | None = None, *, target: str | None = None) -> None:
        self.root = root
        self.target = target

    def _path(self, path: PathLike) -> Path:
        p = Path(path).expanduser()
        return p if self.root is None or p.is_absolute() else Path(self.root) / p

    def _done(self, df: pd.DataFrame, target: str | None, source: Any) -> pd.DataFrame:
        df.attrs["source"] = os.fspath(source) if isinstance(source, (str, os.PathLike)) else type(source).__name__
        return with_target(df, target if target is not None else self.target)

    def load(self, source: Any, *, target: str | None = None, **kw: Any) -> pd.DataFrame:
        """:func:`~tesla_lab.data.load` (reader chosen from the name), relative file paths taken from ``root``.

        >>> DataIngestion().load("sample:iris", columns=["petal width (cm)"]).shape
        (150, 1)
        """
        if isinstance(source, (str, os.PathLike)) and "://" not in os.fspath(source):
            candidate = self._path(source)
            if candidate.exists():
                source = candidate
        return self._done(ingest.load(source, target=target or self.target, **kw), target, source)

    def load_csv(self, path: PathLike, *, target: str | None = None, **kw: Any) -> pd.DataFrame:
        """:func:`~tesla_lab.data.load_csv` relative to ``root``.

        >>> DataIngestion().load_csv("nope.csv")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: 'nope.csv'; check the path (relative paths start at ...)
        """
        p = self._path(path)
        return self._done(ingest.load_csv(p, **kw), target, p)

    def load_json(self, path: PathLike, *, target: str | None = None, lines: bool | None = None,
                  **kw: Any) -> pd.DataFrame:
        """:func:`~tesla_lab.data.load_json` (records, or JSON lines for ``.jsonl``) relative to ``root``.

        >>> DataIngestion(root="/nonexistent").load_json("a.json")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: '/nonexistent/a.json'; check the path ...
        """
        p = self._path(path)
        return self._done(ingest.load_json(p, lines=lines, **kw), target, p)

    def load_parquet(self, path: PathLike, *, target: str | None = None, columns: Sequence[str] | None = None,
                     **kw: Any) -> pd.DataFrame:
        """:func:`~tesla_lab.data.load_parquet` relative to ``root``.

        >>> DataIngestion().load_parquet("a.parquet")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: 'a.parquet'; check the path ...
        """
        p = self._path(path)
        return self._done(ingest.load_parquet(p, columns=columns, **kw), target, p)

    def load_pickle(self, path: PathLike, *, trust: bool = False, target: str | None = None) -> pd.DataFrame:
        """:func:`~tesla_lab.data.load_pickle` relative to ``root``: refused unless ``trust=True`` (unpickling runs
        code chosen by whoever wrote the file).

        >>> DataIngestion().load_pickle("a.pkl")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: refusing to unpickle 'a.pkl': loading a pickle can execute arbitrary code...
        """
        if not trust:
            return ingest.load_pickle(path, trust=False)  # the refusal names the path as given
        p = self._path(path)
        return self._done(ingest.load_pickle(p, trust=True), target, p)

    def load_sql(self, query: str | None = None, url_or_path: PathLike | None = None, *, table: str | None = None,
                 params: Any = None, target: str | None = None) -> pd.DataFrame:
        """:func:`~tesla_lab.data.load_sql`; a SQLite file path is taken relative to ``root``.

        >>> DataIngestion().load_sql("SELECT 1", "missing.db")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: file not found: 'missing.db'; check the path ...
        """
        if url_or_path is not None and "://" not in os.fspath(url_or_path):
            url_or_path = self._path(url_or_path)
        df = ingest.load_sql(query, url_or_path, table=table, params=params)
        return self._done(df, target, url_or_path if url_or_path is not None else "sql")

    def load_mnist(self, dir_or_files: PathLike | tuple[PathLike, PathLike], *, kind: str = "train",
                   target: str | None = None) -> pd.DataFrame:
        """:func:`~tesla_lab.data.load_mnist_frame` relative to ``root``: pixels as columns plus ``target``.

        >>> DataIngestion().load_mnist("missing")
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: MNIST directory 'missing' not found; check the path
        """
        if isinstance(dir_or_files, (tuple, list)):
            files = tuple(self._path(p) for p in dir_or_files)
            df = ingest.load_mnist_frame(files, kind=kind)  # type: ignore[arg-type]
            return self._done(df, target or "target", files[0])
        folder = self._path(dir_or_files)
        return self._done(ingest.load_mnist_frame(folder, kind=kind), target or "target", folder)

    def load_sample(self, name: str, *, target: str | None = None) -> pd.DataFrame:
        """A sample dataset (``iris``, ``diabetes``, ``digits``, ...); its :class:`~tesla_lab.data.SampleInfo` is in
        ``df.attrs['sample_info']`` and its target column becomes the frame's target.

        >>> df = DataIngestion().load_sample("digits")
        >>> df.attrs["sample_info"]["image_shape"], df.attrs["target"]
        ((8, 8), 'target')
        """
        df = ingest.load(f"sample:{name}")
        return self._done(df, target or df.attrs["sample_info"].get("target"), f"sample:{name}")


class DataPreparation:
    """Feature transforms for a pipeline frame that never touch its target column: :meth:`normalize` (z-score),
    :meth:`scale` (min-max) and :meth:`augment` (noisy copies of rows, shifted/rotated copies of images).

    ``target`` names the target column (default: ``df.attrs["target"]``, else the last column). The fitted
    transforms are kept in order (:attr:`steps_`), so :meth:`transform` prepares new rows (e.g. before asking a
    deployed model) exactly as the training data was. They are fitted on the rows you pass: pass the training rows
    only when the statistics of held-out rows must not leak into them.

    >>> df = pd.DataFrame({"x": [0.0, 5.0, 10.0], "y": [0, 1, 1]})
    >>> prepare = DataPreparation()
    >>> prepare.scale(df)["x"].tolist(), prepare.transform(pd.DataFrame({"x": [2.5]}))["x"].tolist()
    ([0.0, 0.5, 1.0], [0.25])
    """

    def __init__(self, target: str | None = None, *, seed: int = 0) -> None:
        self.target = target
        self.seed = seed
        self.steps_: list[Transform] = []

    def _features(self, df: pd.DataFrame, columns: Sequence[str] | None, who: str) -> tuple[str, list[str]]:
        """The target and the numeric feature columns ``who`` acts on (all numeric non-target ones by default)."""
        target = frame_target(df, self.target)
        if columns is None:
            cols = [str(c) for c in df.columns if c != target and pd.api.types.is_numeric_dtype(df[c])
                    and not pd.api.types.is_bool_dtype(df[c])]
            if not cols:
                raise DataError(f"{who} found no numeric feature columns besides the target {target!r}; columns "
                                f"are: {', '.join(map(str, df.columns))}")
            return target, cols
        cols = [columns] if isinstance(columns, str) else list(columns)
        if target in cols:
            raise DataError(f"{who} never rescales the target column {target!r}; leave it out of columns= (or name "
                            "another target with DataPreparation(target=...))")
        ingest.select_columns(df, cols)
        return target, cols

    def _fit(self, df: pd.DataFrame, transform: Transform) -> pd.DataFrame:
        out = transform.fit_transform(df)
        self.steps_.append(transform)
        return with_target(_keep_attrs(out, df), self.target)

    def normalize(self, data: pd.DataFrame, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Standardize feature columns to mean 0, standard deviation 1 (:class:`~tesla_lab.data.Standardize`);
        ``columns`` default: every numeric column but the target. Returns a new frame.

        >>> df = pd.DataFrame({"a": [1.0, 3.0], "label": [5.0, 7.0]})
        >>> DataPreparation().normalize(df).to_dict("list")
        {'a': [-1.0, 1.0], 'label': [5.0, 7.0]}
        >>> DataPreparation().normalize(df, columns=["label"])
        Traceback (most recent call last):
        ...
        tesla_lab.errors.DataError: normalize never rescales the target column 'label'; leave it out of columns= ...
        """
        _, cols = self._features(data, columns, "normalize")
        return self._fit(data, Standardize(columns=cols))

    def scale(self, data: pd.DataFrame, *, feature_range: tuple[float, float] = (0.0, 1.0),
              columns: Sequence[str] | None = None) -> pd.DataFrame:
        """Map feature columns' ranges onto ``feature_range`` (:class:`~tesla_lab.data.MinMaxScale`); the target
        is left alone. Returns a new frame.

        >>> DataPreparation().scale(pd.DataFrame({"a": [0.0, 2.0], "y": [0, 1]}), feature_range=(-1, 1))["a"].tolist()
        [-1.0, 1.0]
        """
        _, cols = self._features(data, columns, "scale")
        return self._fit(data, MinMaxScale(feature_range=feature_range, columns=cols))

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        """Apply the fitted :meth:`normalize` / :meth:`scale` steps, in order, to new rows (the target column may
        be absent).

        >>> DataPreparation().transform(pd.DataFrame({"a": [1.0]}))
        Traceback (most recent call last):
        ...
        tesla_lab.errors.NotFittedError: nothing to apply yet: call normalize(data) or scale(data) first
        """
        if not self.steps_:
            raise NotFittedError("nothing to apply yet: call normalize(data) or scale(data) first")
        return _keep_attrs(Pipeline(self.steps_).transform(data), data)

    @property
    def pipeline_(self) -> Pipeline:
        """The fitted steps as a :class:`~tesla_lab.data.Pipeline` (``.to_dict()`` saves them as JSON).

        >>> DataPreparation().pipeline_
        Pipeline([])
        """
        return Pipeline(list(self.steps_))

    def augment(self, data: pd.DataFrame, *, copies: int = 1, noise: float = 0.05, shift: int = 1,
                rotate: float = 10.0, seed: int | None = None) -> pd.DataFrame:
        """``data`` plus ``copies`` randomized copies of every row, target unchanged (training data only).

        Rows of images (the frame knows its ``image_shape``, e.g. the ``digits`` sample or MNIST) are shifted by up
        to ``shift`` pixels, rotated by up to ``rotate`` degrees and given noise (:class:`~tesla_lab.data.Augment`);
        other tables get gaussian noise of ``noise`` times each numeric feature's standard deviation.

        >>> df = pd.DataFrame({"x": [0.0, 1.0, 2.0], "y": ["a", "b", "c"]})
        >>> out = DataPreparation(seed=0).augment(df, copies=2)
        >>> len(out), out["y"].tolist()[3:6], bool(abs(out["x"][3:6].to_numpy() - df["x"]).max() < 0.5)
        (9, ['a', 'b', 'c'], True)
        """
        if isinstance(copies, bool) or not isinstance(copies, int) or copies < 0:
            raise ConfigError(f"copies must be a whole number >= 0; got {copies!r}")
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
            raise ConfigError(f"noise must be a number >= 0 (a fraction of each column's spread); got {noise!r}")
        target = frame_target(data, self.target)
        seed = self.seed if seed is None else seed
        shape = data.attrs.get("image_shape") or (data.attrs.get("sample_info") or {}).get("image_shape")
        cols = [c for c in data.columns if c != target]
        if shape is not None and len(cols) == int(np.prod(shape)):
            new = self._augment_images(data, cols, tuple(shape), copies, noise, shift, rotate, seed)
        else:
            _, numeric = self._features(data, None, "augment")
            rng = np.random.default_rng(seed)
            values = data[numeric].to_numpy(dtype=np.float64)  # (N, k)
            spread = np.nanstd(values, axis=0)  # (k,)
            new = []
            for _ in range(copies):
                copy = data.copy()
                copy[numeric] = values + rng.normal(size=values.shape) * (noise * spread)
                new.append(copy)
        out = pd.concat([data, *new], ignore_index=True)
        logger.info("augment: %d rows -> %d", len(data), len(out))
        return with_target(_keep_attrs(out, data), self.target)

    @staticmethod
    def _augment_images(data: pd.DataFrame, cols: list[Any], shape: tuple[int, ...], copies: int, noise: float,
                        shift: int, rotate: float, seed: int) -> list[pd.DataFrame]:
        pixels = torch.tensor(data[cols].to_numpy(dtype=np.float32))  # (N, H*W), a copy torch may write
        spread = float(pixels.std()) if pixels.numel() > 1 else 0.0
        aug = Augment(shift=shift, rotate=rotate, noise=noise * spread, seed=seed, image_shape=shape)
        new = []
        for _ in range(copies):
            copy = data.copy()
            copy[cols] = aug(pixels).numpy()
            new.append(copy)
        return new
