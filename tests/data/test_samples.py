import importlib.util
import sys
import types

import numpy as np
import pandas as pd
import pytest

from tesla_lab.data import list_samples, load_sample, sample_info
from tesla_lab.errors import ConfigError

SKLEARN = {
    # name: (task, n_samples, n_features)
    "digits": ("classification", 1797, 64),
    "iris": ("classification", 150, 4),
    "wine": ("classification", 178, 13),
    "breast_cancer": ("classification", 569, 30),
    "diabetes": ("regression", 442, 10),
}


@pytest.mark.parametrize("name", sorted(SKLEARN))
def test_sklearn_samples_have_features_target_and_matching_info(name):
    df, info = load_sample(name)
    task, n, f = SKLEARN[name]
    assert (info.name, info.task, info.n_samples, info.n_features, info.target) == (name, task, n, f, "target")
    assert df.shape == (n, f + 1) and df.columns[-1] == "target"
    assert info.source == "scikit-learn" and info.description
    if task == "classification":
        assert info.target_names is not None
        assert sorted(df["target"].unique()) == list(range(len(info.target_names)))
    else:
        assert info.target_names is None


def test_digits_know_their_image_shape_and_arrays_form():
    X, y, info = load_sample("digits", as_frame=False)
    assert info.image_shape == (8, 8)
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert info.to_dict()["image_shape"] == (8, 8)
    assert sample_info("iris").image_shape is None


def test_names_are_case_insensitive_and_unknown_names_list_choices():
    assert load_sample("Breast-Cancer")[1].name == "breast_cancer"
    with pytest.raises(ConfigError, match=r"unknown sample dataset 'irsi' \(did you mean 'iris'\?\); choose one of:"):
        load_sample("irsi")


def test_list_samples_hides_plotly_sets_without_plotly(monkeypatch):
    monkeypatch.delitem(sys.modules, "plotly", raising=False)
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    names = list_samples()
    assert set(SKLEARN) <= set(names) and "tips" not in names
    assert {"gapminder", "tips", "plotly_iris"} <= set(list_samples(available_only=False))


def test_plotly_sample_without_plotly_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly.data", None)  # import fails
    with pytest.raises(ConfigError, match=r"ships with plotly, which is not installed; run `pip install plotly`"):
        load_sample("tips")


def _fake_plotly(monkeypatch):
    data = types.ModuleType("plotly.data")
    data.tips = lambda: pd.DataFrame({"total_bill": [10.0, 20.0], "tip": [1.0, 3.0], "day": ["Sun", "Sat"]})
    data.gapminder = lambda: pd.DataFrame({"country": ["A"], "lifeExp": [70.0], "pop": [5]})
    data.iris = lambda: pd.DataFrame(
        {"sepal_length": [5.1, 7.0, 6.3], "species": ["setosa", "versicolor", "virginica"], "species_id": [1, 2, 3]}
    )
    monkeypatch.setitem(sys.modules, "plotly", types.ModuleType("plotly"))
    monkeypatch.setitem(sys.modules, "plotly.data", data)


def test_plotly_samples_rename_their_target(monkeypatch):
    _fake_plotly(monkeypatch)
    assert "tips" in list_samples()
    tips, info = load_sample("tips")
    assert tips["target"].tolist() == [1.0, 3.0] and "tip" not in tips
    assert (info.task, info.source, info.n_features) == ("regression", "plotly", 2)
    gap, _ = load_sample("gapminder")
    assert gap["target"].tolist() == [70.0]
    iris, info = load_sample("plotly_iris")
    # the text label would leak the target: it only survives as target_names
    assert iris.columns.tolist() == ["sepal_length", "target"]
    assert iris["target"].tolist() == [0, 1, 2]
    assert info.target_names == ("setosa", "versicolor", "virginica")


@pytest.mark.skipif(importlib.util.find_spec("plotly") is None, reason="plotly not installed")
def test_real_plotly_tips_loads():
    df, info = load_sample("tips")
    assert "target" in df and info.n_samples == len(df) > 100
    assert np.isfinite(df["target"]).all()
