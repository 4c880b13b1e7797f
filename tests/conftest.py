"""Fixtures shared across test packages."""

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris


def iris_frame(seed: int = 0) -> pd.DataFrame:
    """Iris with text labels and a low-cardinality text feature, shuffled."""
    frame = load_iris(as_frame=True).frame
    frame["species"] = np.array(["setosa", "versicolor", "virginica"])[frame.pop("target")]
    frame.insert(0, "lab", np.where(np.arange(len(frame)) % 3 == 0, "north", "south"))
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.fixture(scope="session")
def iris_csv(tmp_path_factory):
    """``data.csv`` (120 rows) and ``test.csv`` (30 held-out rows)."""
    root = tmp_path_factory.mktemp("iris")
    frame = iris_frame()
    frame.iloc[:120].to_csv(root / "data.csv", index=False)
    frame.iloc[120:].to_csv(root / "test.csv", index=False)
    return root / "data.csv", root / "test.csv"
