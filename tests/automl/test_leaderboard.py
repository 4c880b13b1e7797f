"""The leaderboard's order and columns, and parameter counts of every kind of model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.automl import COLUMNS, TrialRecord, count_params, leaderboard
from tesla_lab.models import make_model

records = st.lists(st.builds(
    TrialRecord, trial=st.integers(0, 99), family=st.sampled_from(["mlp", "tt_mlp"]), params=st.just({}),
    status=st.sampled_from(["ok", "failed"]), val_score=st.one_of(st.none(), st.floats(-1, 1)),
    fit_time=st.floats(0, 10), n_params=st.one_of(st.none(), st.integers(1, 10_000)), run_id=st.none()),
    max_size=12)


@settings(max_examples=40, deadline=None)
@given(rows=records, bigger=st.booleans())
def test_scored_trials_come_best_first_and_unscored_last(rows, bigger):
    board = leaderboard(rows, metric="m", maximize=bigger)
    assert list(board.columns) == COLUMNS and len(board) == len(rows)
    n_scored = sum(r.val_score is not None for r in rows)
    scores = board["val_score"].iloc[:n_scored]
    assert scores.notna().all() and board["val_score"].iloc[n_scored:].isna().all()
    assert (scores.is_monotonic_decreasing if bigger else scores.is_monotonic_increasing)
    assert board.attrs == {"metric": "m", "maximize": bigger}


def test_ties_go_to_the_faster_trial():
    rows = [TrialRecord(0, "mlp", {}, "ok", 0.9, 3.0, 10, None), TrialRecord(1, "tt_mlp", {}, "ok", 0.9, 1.0, 5, None)]
    assert leaderboard(rows)["trial"].tolist() == [1, 0]


def test_an_empty_leaderboard_keeps_its_columns():
    assert list(leaderboard([]).columns) == COLUMNS


def test_torch_models_count_stored_parameters():
    mlp = make_model("mlp", 16, 3, "classification", hidden_sizes=[64, 64])
    assert count_params(mlp) == sum(p.numel() for p in mlp.module.parameters())
    tt = make_model("tt_mlp", 16, 3, "classification", hidden_sizes=[64, 64], tt_rank=2)
    assert count_params(tt) < count_params(mlp)  # the 64x64 layer is a tensor train


def _svm_size(svc):
    return svc.support_vectors_.size + svc.dual_coef_.size + svc.intercept_.size


@pytest.mark.parametrize(("family", "hparams", "expected"), [
    ("sklearn:ridge", {}, lambda est: 4 + 1),
    ("sklearn:logistic", {}, lambda est: 3 * 4 + 3),
    ("sklearn:knn", {}, lambda est: 60 * 4),
    ("sklearn:random_forest", {"n_estimators": 3}, lambda est: sum(t.tree_.node_count for t in est.estimators_)),
    ("sklearn:svm", {}, lambda est: _svm_size(est.calibrated_classifiers_[0].estimator) + 3 * 2),  # + 3 sigmoids
    ("sklearn:gradient_boosting", {"max_iter": 5}, lambda est: sum(len(p.nodes) for s in est._predictors for p in s)),
])
def test_scikit_learn_models_count_what_they_keep(family, hparams, expected):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4)).astype("float32")
    y = np.arange(60) % 3
    task = "regression" if family == "sklearn:ridge" else "classification"
    model = make_model(family, 4, 1 if task == "regression" else 3, task, **hparams)
    assert count_params(model) is None  # not fitted: nothing kept yet
    model.fit(X, y.astype("float32") if task == "regression" else y, seed=0)
    assert count_params(model) == expected(model.estimator_) > 0
