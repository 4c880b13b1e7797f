"""A :class:`Pipeline` of fitted transforms, and the registry that rebuilds any transform from its JSON form
(:func:`transform_from_dict`), so a model's preprocessing is saved without pickle.

>>> from tesla_lab.data import MinMaxScale
>>> pipe = Pipeline([MinMaxScale()]).fit([[0.0], [4.0]])
>>> transform_from_dict(pipe.to_dict()).transform([[1.0]]).tolist()
[[0.25]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tesla_lab._registry import Registry
from tesla_lab.data.encoding import LabelEncode, OneHot
from tesla_lab.data.impute import FillMissing
from tesla_lab.data.scalers import MinMaxScale, Normalize, PixelScale, Standardize
from tesla_lab.data.transform import Data, Transform, _decode
from tesla_lab.errors import ConfigError, NotFittedError

__all__ = ["Pipeline", "TRANSFORMS", "transform_from_dict"]


class Pipeline(Transform):
    """Transforms applied in order; fit fits each on the output of the ones before. Saves to a JSON-able dict.

    >>> import json, pandas as pd
    >>> pipe = Pipeline([FillMissing(), Standardize()]).fit(pd.DataFrame({"a": [1.0, None, 3.0]}))
    >>> again = Pipeline.from_dict(json.loads(json.dumps(pipe.to_dict())))
    >>> again.transform(pd.DataFrame({"a": [3.0]}))["a"].round(4).tolist()
    [1.2247]
    """

    def __init__(self, steps: Sequence[Transform | tuple[str, Transform]]) -> None:
        self.steps = steps

    def _steps(self) -> list[Transform]:
        out = []
        for step in self.steps:
            t = step[1] if isinstance(step, tuple) else step
            if not isinstance(t, Transform):
                raise ConfigError(
                    f"Pipeline steps must be transforms (Standardize(), OneHot(), ...); got {type(t).__name__} {t!r}"
                )
            out.append(t)
        return out

    @property
    def is_fitted(self) -> bool:
        return all(t.is_fitted for t in self._steps())

    def _check_fitted(self) -> None:
        waiting = [type(t).__name__ for t in self._steps() if not t.is_fitted]
        if waiting:
            raise NotFittedError(
                f"Pipeline is not fitted yet (step(s) {', '.join(waiting)}); call fit(X_train) first"
            )

    def fit(self, X: Data, y: Any = None) -> Pipeline:
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Data, y: Any = None) -> Data:
        for t in self._steps():
            X = t.fit_transform(X)
        return X

    def transform(self, X: Data) -> Data:
        self._check_fitted()
        for t in self._steps():
            X = t.transform(X)
        return X

    def inverse_transform(self, X: Data) -> Data:
        self._check_fitted()
        for t in reversed(self._steps()):
            if not isinstance(t, FillMissing):  # filling is not undone; the values stay filled
                X = t.inverse_transform(X)
        return X

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Transform:
        return self._steps()[i]

    def __repr__(self) -> str:
        return f"Pipeline({self._steps()!r})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "Pipeline", "steps": [t.to_dict() for t in self._steps()]}


TRANSFORMS: Registry[type[Transform]] = Registry("transform")
for _cls in (Standardize, MinMaxScale, Normalize, PixelScale, FillMissing, OneHot, LabelEncode, Pipeline):
    TRANSFORMS.register(_cls.__name__, lambda _c=_cls: _c)


def transform_from_dict(data: dict[str, Any]) -> Transform:
    """Rebuild any transform (or :class:`Pipeline`) from its :meth:`Transform.to_dict` form.

    >>> transform_from_dict({"type": "Whiten"})
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown transform 'Whiten'; choose one of: fillmissing, labelencode, minmaxscale, \
normalize, onehot, pipeline, pixelscale, standardize
    """
    if not isinstance(data, dict) or "type" not in data:
        raise ConfigError(f"a saved transform is a dict with a 'type' key (from to_dict()); got {data!r:.80}")
    cls = TRANSFORMS.get(data["type"])()
    if cls is Pipeline:
        return Pipeline([transform_from_dict(step) for step in data.get("steps", [])])
    obj = cls(**{k: _decode(v) for k, v in data.get("params", {}).items()})
    for key, value in data.get("state", {}).items():
        setattr(obj, key, _decode(value))
    return obj
