"""Small sample datasets that need no network: scikit-learn's bundled sets, and plotly's when plotly is installed.

Every sample is a DataFrame of feature columns plus a ``target`` column, returned with a :class:`SampleInfo`.

>>> df, info = load_sample("iris")
>>> df.shape, info.task, info.target_names
((150, 5), 'classification', ('setosa', 'versicolor', 'virginica'))
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError

__all__ = ["SampleInfo", "SAMPLES", "list_samples", "load_sample", "sample_info"]

Task = Literal["classification", "regression"]


@dataclass(frozen=True)
class SampleInfo:
    """What a sample dataset holds: its task, size, target column and, for images, the image shape.

    >>> load_sample("digits")[1].image_shape
    (8, 8)
    """

    name: str
    task: Task
    n_samples: int
    n_features: int
    target: str
    description: str
    source: str
    target_names: tuple[str, ...] | None = None
    image_shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-able dict of the fields.

        >>> load_sample("wine")[1].to_dict()["n_features"]
        13
        """
        return asdict(self)


@dataclass(frozen=True)
class _Spec:
    source: str  # "scikit-learn" | "plotly"
    task: Task
    description: str
    load: Callable[[], tuple[pd.DataFrame, tuple[str, ...] | None]]
    image_shape: tuple[int, ...] | None = None


def _sklearn(loader_name: str) -> Callable[[], tuple[pd.DataFrame, tuple[str, ...] | None]]:
    def load() -> tuple[pd.DataFrame, tuple[str, ...] | None]:
        from sklearn import datasets  # lazy: importing sklearn.datasets costs ~0.5 s

        bunch = getattr(datasets, loader_name)(as_frame=True)
        names = getattr(bunch, "target_names", None)
        # diabetes has no class names; digits' are the ints 0..9
        target_names = tuple(str(n) for n in names) if names is not None else None
        return bunch.frame, target_names

    return load


def _plotly_data() -> Any:
    try:
        return importlib.import_module("plotly.data")
    except ImportError as exc:
        raise ConfigError(
            "this sample ships with plotly, which is not installed; run `pip install plotly`, or pick a "
            f"scikit-learn sample: {', '.join(n for n in SAMPLES if _SPECS[n].source == 'scikit-learn')}"
        ) from exc


def _plotly_gapminder() -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    df = _plotly_data().gapminder()
    return df.rename(columns={"lifeExp": "target"}), None


def _plotly_tips() -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    df = _plotly_data().tips()
    return df.rename(columns={"tip": "target"}), None


def _plotly_iris() -> tuple[pd.DataFrame, tuple[str, ...] | None]:
    df = _plotly_data().iris()
    # species_id is 1..3; the text column 'species' would leak the label, so it becomes target_names only
    codes = df["species_id"].to_numpy().astype(np.int64)
    names = tuple(str(df["species"][codes == c].iloc[0]) for c in sorted(set(codes)))
    df = df.drop(columns=["species", "species_id"])
    df["target"] = codes - codes.min()
    return df, names


_SPECS: dict[str, _Spec] = {
    "digits": _Spec("scikit-learn", "classification", "8x8 grey images of handwritten digits 0-9 (UCI)",
                    _sklearn("load_digits"), image_shape=(8, 8)),
    "iris": _Spec("scikit-learn", "classification", "150 iris flowers, 4 measurements, 3 species",
                  _sklearn("load_iris")),
    "wine": _Spec("scikit-learn", "classification", "178 wines, 13 chemical measurements, 3 cultivars",
                  _sklearn("load_wine")),
    "breast_cancer": _Spec("scikit-learn", "classification",
                           "569 breast-mass images, 30 features, malignant vs benign (Wisconsin)",
                           _sklearn("load_breast_cancer")),
    "diabetes": _Spec("scikit-learn", "regression",
                      "442 diabetes patients, 10 standardized features, disease progression after one year",
                      _sklearn("load_diabetes")),
    "gapminder": _Spec("plotly", "regression", "countries by year (1952-2007): life expectancy from population, GDP",
                       _plotly_gapminder),
    "tips": _Spec("plotly", "regression", "244 restaurant bills: tip from bill, party size, day, time",
                  _plotly_tips),
    "plotly_iris": _Spec("plotly", "classification", "plotly's copy of the iris flowers (3 species)",
                         _plotly_iris),
}

# name -> canonical name; the registry gives case-insensitive look-up and "did you mean" errors
SAMPLES: Registry[str] = Registry("sample dataset")
for _name in _SPECS:
    SAMPLES.register(_name, lambda _n=_name: _n)


def _plotly_installed() -> bool:
    if "plotly" in sys.modules:
        return True
    try:
        return importlib.util.find_spec("plotly") is not None
    except (ImportError, ValueError):
        return False


def list_samples(*, available_only: bool = True) -> list[str]:
    """Names of the sample datasets; plotly's are listed only when plotly is installed (or ``available_only=False``).

    >>> [n for n in list_samples() if n in ("digits", "iris", "diabetes")]
    ['diabetes', 'digits', 'iris']
    """
    names = SAMPLES.names()
    if available_only and not _plotly_installed():
        names = [n for n in names if _SPECS[n].source != "plotly"]
    return names


@overload
def load_sample(name: str, *, as_frame: Literal[True] = ...) -> tuple[pd.DataFrame, SampleInfo]: ...
@overload
def load_sample(name: str, *, as_frame: Literal[False]) -> tuple[np.ndarray, np.ndarray, SampleInfo]: ...
def load_sample(
    name: str, *, as_frame: bool = True
) -> tuple[pd.DataFrame, SampleInfo] | tuple[np.ndarray, np.ndarray, SampleInfo]:
    """Load a sample dataset: ``(frame, info)``, or ``(X, y, info)`` with ``as_frame=False``.

    ``X`` is the feature columns as an array (numeric samples only make sense there), ``y`` the target column.
    Unknown names raise :class:`~tesla_lab.errors.ConfigError` listing the choices.

    >>> X, y, info = load_sample("digits", as_frame=False)
    >>> X.shape, y[:5].tolist(), info.n_features
    ((1797, 64), [0, 1, 2, 3, 4], 64)
    >>> load_sample("irsi")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown sample dataset 'irsi' (did you mean 'iris'?); choose one of: ...
    """
    key = SAMPLES.get(name)()
    spec = _SPECS[key]
    frame, target_names = spec.load()
    info = SampleInfo(
        name=key,
        task=spec.task,
        n_samples=len(frame),
        n_features=frame.shape[1] - 1,
        target="target",
        description=spec.description,
        source=spec.source,
        target_names=target_names,
        image_shape=spec.image_shape,
    )
    if as_frame:
        return frame, info
    features = frame.drop(columns=["target"])
    return features.to_numpy(), frame["target"].to_numpy(), info


def sample_info(name: str) -> SampleInfo:
    """The :class:`SampleInfo` of one sample (loads it, they are small).

    >>> sample_info("diabetes").task
    'regression'
    """
    return load_sample(name)[1]
