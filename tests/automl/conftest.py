import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris

from tesla_lab.store import Project


@pytest.fixture
def project(tmp_path):
    return Project.init(tmp_path / "proj")


@pytest.fixture(scope="session")
def iris_labels() -> pd.DataFrame:
    """Iris with text class labels in column 'species'."""
    frame = load_iris(as_frame=True).frame
    frame["species"] = np.array(["setosa", "versicolor", "virginica"])[frame.pop("target")]
    return frame
