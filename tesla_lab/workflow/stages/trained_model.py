"""What a training stage hands to the next stages: :class:`TrainedModel`, the run's result with the project holding
it and a fingerprint of the rows it was trained on (so evaluating on those rows can be noticed).

>>> import pandas as pd
>>> _fingerprint(pd.DataFrame({"x": [1, 2]})) == _fingerprint(pd.DataFrame({"x": [2, 1]}, index=[5, 6]))
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tesla_lab.models import ModelBundle
from tesla_lab.store import Project
from tesla_lab.workflow.training import TrainResult

__all__ = ["TrainedModel"]


def _fingerprint(frame: pd.DataFrame) -> int:
    """A hash of the rows' values (not their order or index), to notice evaluation on the training rows."""
    try:
        return int(pd.util.hash_pandas_object(frame, index=False).to_numpy(dtype=np.uint64).sum(dtype=np.uint64))
    except TypeError:  # unhashable cells (lists): no warning then
        return 0


@dataclass
class TrainedModel:
    """What a :class:`ModelTraining` method returns: the :class:`~tesla_lab.workflow.TrainResult` of the run and the
    project holding it. ``metrics`` are the scores on the rows held out from training.

    >>> import tempfile
    >>> from tesla_lab.data import load
    >>> from tesla_lab.workflow.stages import ModelTraining
    >>> model = ModelTraining(tempfile.mkdtemp(), epochs=5).logistic_regression(load("iris"))
    >>> model.task, model.family, model.predict(load("iris").head(2)).shape
    ('classification', 'logistic', (2,))
    """

    method: str
    result: TrainResult
    project: Project
    data_fingerprint: int = 0

    @property
    def name(self) -> str:
        """The model's name in the registry."""
        return self.result.name

    @property
    def version(self) -> int | None:
        """Its registry version."""
        return self.result.version

    @property
    def run_id(self) -> str:
        """The run that trained it."""
        return self.result.run_id

    @property
    def bundle(self) -> ModelBundle:
        """The :class:`~tesla_lab.models.ModelBundle`: raw rows in, predictions in the original labels out."""
        return self.result.bundle

    @property
    def family(self) -> str:
        """The model family (``linear``, ``logistic``, ``mlp``, ``tt_mlp``)."""
        return str(self.result.bundle.estimator.family)

    @property
    def task(self) -> str:
        """``'regression'`` or ``'classification'``."""
        return self.result.bundle.task

    @property
    def target(self) -> str:
        """The target column."""
        return self.result.bundle.target

    @property
    def metrics(self) -> dict[str, float]:
        """Scores on the held-out test rows (``r2``, ``mse``, ... or ``accuracy``, ``f1_macro``, ...)."""
        return dict(self.result.metrics)

    def predict(self, data: Any) -> np.ndarray:
        """Predictions for raw rows (a DataFrame with the feature columns, records or an array)."""
        return self.bundle.predict(data)

    def __repr__(self) -> str:
        headline = [k for k in ("r2", "accuracy") if k in self.metrics] + ["mse", "f1_macro"]
        shown = ", ".join(f"{k}={self.metrics[k]:.3g}" for k in headline if k in self.metrics)
        return (f"TrainedModel({self.method}, name={self.name!r}, version={self.version}, project="
                f"{str(self.project.path)!r}, test: {shown})")
