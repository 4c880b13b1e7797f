"""Shared fixtures: a small tabular classifier with a preprocessing pipeline (OneHot + Standardize) and TT layers,
exported once per session."""

import numpy as np
import pandas as pd
import pytest
import torch

import tesla_lab as tesla
from tesla_lab.data import OneHot, Pipeline, Standardize
from tesla_lab.serve import export_model

FEATURES = ["a", "b", "c", "d", "e", "color"]
LABELS = ["low", "mid", "high"]


def make_frame(n: int, seed: int = 0, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {name: rng.normal(loc=shift, size=n) for name in FEATURES[:-1]}
    data["color"] = rng.choice(["red", "green", "blue"], size=n)
    return pd.DataFrame(data, columns=FEATURES)


@pytest.fixture(scope="session")
def tabular():
    """(train frame, fitted pipeline, model inputs float32 (N, 8), TT classifier with 3 outputs)."""
    torch.manual_seed(0)
    df = make_frame(400)
    pipe = Pipeline([OneHot(columns=["color"]), Standardize()]).fit(df)
    X = np.asarray(pipe.transform(df), dtype=np.float32)  # (400, 8): 5 numbers + 3 one-hot columns
    model = tesla.TensorNetwork(input_dim=X.shape[1], hidden_dim=16, output_dim=3, tt_rank=2)
    model.add_layer("tt", 16)
    model.eval()
    return df, pipe, X, model


@pytest.fixture(scope="session")
def tabular_export(tabular, tmp_path_factory):
    df, pipe, X, model = tabular
    out = tmp_path_factory.mktemp("exports") / "tabular"
    return export_model(model, torch.from_numpy(X[:8]), out, pipeline=pipe, feature_names=FEATURES,
                        class_labels=LABELS, reference_data=df, metadata={"run": "r1"})


@pytest.fixture(scope="session")
def tabular_dir(tabular_export):
    return tabular_export.path
