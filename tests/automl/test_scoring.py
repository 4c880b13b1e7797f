"""The validation score: the metric for the task, its direction, and its value in the target's units."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.automl import TASK_METRICS, maximize, resolve_metric, validation_score
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.metrics import rmse
from tesla_lab.models import make_model


def test_default_metric_is_accuracy_or_r2_and_aliases_resolve():
    assert resolve_metric(None, "classification") == "accuracy" and resolve_metric(None, "regression") == "r2"
    assert resolve_metric("AUC", "classification") == "roc_auc" and resolve_metric("f1_macro", "classification") == "f1"


def test_errors_are_minimised_scores_maximised():
    assert [maximize(m) for m in TASK_METRICS["regression"]] == [True, False, False, False]
    assert all(maximize(m) for m in TASK_METRICS["classification"])


@pytest.mark.parametrize(("metric", "task", "message"), [
    ("r2", "classification", "metric 'r2' does not score classification; choose one of: accuracy, f1"),
    ("accuracy", "regression", "metric 'accuracy' does not score regression; choose one of: r2, rmse"),
    ("logloss", "classification", "metric 'logloss' is not a metric AutoML knows; choose one of: accuracy"),
    (3, "regression", "metric must be a name such as 'accuracy' or 'r2'; got 3"),
    ("r2", "ranking", "task must be one of: classification, regression; got 'ranking'"),
])
def test_unknown_or_mismatched_metrics_are_refused(metric, task, message):
    with pytest.raises(ConfigError, match=message):
        resolve_metric(metric, task)


@settings(max_examples=15, deadline=None)
@given(mean=st.floats(-100, 100), std=st.floats(0.1, 50))
def test_regression_errors_are_in_the_targets_units(mean, std):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype("float32")
    y = (X[:, 0] + 0.5 * rng.normal(size=40)).astype("float32")  # the scaled target
    model = make_model("sklearn:ridge", 3, 1, "regression", alpha=10.0).fit(X, y)
    scaled = validation_score(model, X, y, "rmse")
    assert validation_score(model, X, y, "rmse", target_scaling={"mean": mean, "std": std}) == pytest.approx(
        scaled * std, rel=1e-5)
    assert scaled == pytest.approx(rmse(y, model.predict(X)))
    r2 = validation_score(model, X, y, "r2")
    assert validation_score(model, X, y, "r2", target_scaling={"mean": mean, "std": std}) == pytest.approx(r2, abs=1e-6)


@pytest.mark.parametrize("metric", TASK_METRICS["classification"])
def test_a_perfect_classifier_scores_one_on_every_metric(metric):
    X = np.repeat(np.eye(3, dtype="float32") * 5, 10, axis=0)
    y = np.repeat(np.arange(3), 10)
    model = make_model("sklearn:logistic", 3, 3, "classification").fit(X, y)
    assert validation_score(model, X, y, metric) == pytest.approx(1.0)


def test_a_diverged_model_fails_the_trial():
    model = make_model("linear", 2, 1, "regression")
    with torch.no_grad():
        for p in model.module.parameters():
            p.fill_(float("nan"))
    model.is_fitted = True
    with pytest.raises(DataError, match=r"outputs on the validation rows are NaN/inf \(training diverged"):
        validation_score(model, np.ones((4, 2), "float32"), np.arange(4.0), "r2")
