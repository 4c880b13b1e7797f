import json

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from tesla_lab import metrics
from tesla_lab.errors import ConfigError, DataError

SETTINGS = settings(max_examples=60, deadline=None)
# scikit-learn warns about single-class inputs it still scores; the comparisons want exactly those cases
pytestmark = pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")


@st.composite
def label_pairs(draw, n_classes=4, min_size=1):
    n = draw(st.integers(min_size, 40))
    labels = st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)
    return np.array(draw(labels)), np.array(draw(labels))


@SETTINGS
@given(pair=label_pairs(), average=st.sampled_from(["macro", "micro", "weighted"]))
def test_precision_recall_f1_match_scikit_learn(pair, average):
    t, p = pair
    for ours, theirs in (
        (metrics.precision, skm.precision_score),
        (metrics.recall, skm.recall_score),
        (metrics.f1, skm.f1_score),
    ):
        assert ours(t, p, average=average) == pytest.approx(theirs(t, p, average=average, zero_division=0.0))


@SETTINGS
@given(pair=label_pairs(n_classes=2))
def test_binary_average_matches_scikit_learn(pair):
    t, p = pair
    got = metrics.precision_recall_f1(t, p, average="binary")
    want = skm.precision_recall_fscore_support(t, p, average="binary", zero_division=0.0)[:3]
    assert got == pytest.approx(want)


@SETTINGS
@given(pair=label_pairs())
def test_per_class_scores_accuracy_and_confusion_match_scikit_learn(pair):
    t, p = pair
    prec, rec, f = metrics.precision_recall_f1(t, p, average=None)
    want = skm.precision_recall_fscore_support(t, p, zero_division=0.0)[:3]
    np.testing.assert_allclose(np.stack([prec, rec, f]), np.stack(want))
    assert metrics.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), skm.confusion_matrix(t, p))
    labels = [3, 0]  # a chosen subset, in a chosen order (scikit-learn wants one of them in y_true)
    t, p = np.concatenate([[3], t]), np.concatenate([[1], p])
    np.testing.assert_array_equal(
        metrics.confusion_matrix(t, p, labels=labels), skm.confusion_matrix(t, p, labels=labels)
    )
    assert metrics.f1(t, p, average="macro", labels=labels) == pytest.approx(
        skm.f1_score(t, p, average="macro", labels=labels, zero_division=0.0)
    )
    for norm in ("true", "pred", "all"):
        np.testing.assert_allclose(
            metrics.confusion_matrix(t, p, normalize=norm), np.nan_to_num(skm.confusion_matrix(t, p, normalize=norm))
        )


@SETTINGS
@given(
    data=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6)), min_size=2, max_size=50),
)
def test_binary_roc_auc_matches_scikit_learn_with_ties(data):
    t = np.array([a for a, _ in data])
    s = np.array([b / 6 for _, b in data])  # few distinct scores: many ties
    assume(0 < t.sum() < len(t))
    assert metrics.roc_auc(t, s) == pytest.approx(skm.roc_auc_score(t, s))
    two_columns = np.stack([1 - s, s], axis=1)
    assert metrics.roc_auc(t, two_columns) == pytest.approx(skm.roc_auc_score(t, s))


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(6, 40))
def test_multiclass_roc_auc_is_one_vs_rest_macro(seed, n):
    rng = np.random.default_rng(seed)
    t = np.concatenate([[0, 1, 2], rng.integers(0, 3, n - 3)])
    logits = rng.normal(size=(n, 3))
    prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert metrics.roc_auc(t, prob) == pytest.approx(skm.roc_auc_score(t, prob, multi_class="ovr", average="macro"))


floats = st.floats(-100, 100, allow_nan=False, allow_infinity=False)


@SETTINGS
@given(pairs=st.lists(st.tuples(floats, floats), min_size=2, max_size=40))
def test_regression_metrics_match_scikit_learn(pairs):
    t = np.array([a for a, _ in pairs])
    p = np.array([b for _, b in pairs])
    assert metrics.mse(t, p) == pytest.approx(skm.mean_squared_error(t, p))
    assert metrics.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p))
    assert metrics.rmse(t, p) == pytest.approx(np.sqrt(skm.mean_squared_error(t, p)))
    assert metrics.r2(t, p) == pytest.approx(skm.r2_score(t, p), abs=1e-9)


def test_r2_of_several_outputs_averages_them_like_scikit_learn():
    t = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    p = np.array([[1.5, 5.0], [2.0, 4.0], [3.0, 5.0]])
    assert metrics.r2(t, p) == pytest.approx(skm.r2_score(t, p))
    assert metrics.r2([2.0, 2.0], [2.0, 2.0]) == 1.0 and metrics.r2([2.0, 2.0], [1.0, 2.0]) == 0.0


# --------------------------------------------------------------------------------------- input forms
def test_probabilities_logits_tensors_and_one_hot_truth():
    y = torch.tensor([0, 1, 2, 1])
    logits = torch.tensor([[2.0, 0.1, 0.0], [0.0, 3.0, 1.0], [0.1, 0.2, 0.3], [5.0, 0.0, 0.0]])
    assert metrics.accuracy(y, logits) == 0.75
    assert metrics.accuracy(np.eye(3)[y.numpy()], logits.numpy()) == 0.75
    assert metrics.accuracy([1, 0, 1], [0.9, 0.2, 0.4]) == pytest.approx(2 / 3)  # binary probabilities
    assert metrics.accuracy([1, 0], [[0.7], [0.1]]) == 1.0
    assert metrics.accuracy([1.0, 0.0], [1, 0]) == 1.0  # whole floats are labels
    assert metrics.accuracy(["cat", "dog"], ["cat", "cat"]) == 0.5
    assert metrics.mse(torch.tensor([[1.0], [2.0]]), torch.tensor([1.0, 4.0])) == 2.0


def test_reports_are_json_able_and_consistent():
    t = [0, 0, 1, 1, 2, 2]
    prob = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8],
                     [0.5, 0.1, 0.4]])
    rep = metrics.classification_report(t, prob, target_names=["a", "b", "c"])
    json.dumps(rep)
    assert rep["accuracy"] == pytest.approx(4 / 6) and rep["n_samples"] == 6
    assert rep["per_class"]["b"] == {"precision": pytest.approx(2 / 3), "recall": 1.0, "f1": 0.8, "support": 2}
    sk = skm.classification_report(t, prob.argmax(1), output_dict=True, zero_division=0.0)
    assert rep["macro"]["f1"] == pytest.approx(sk["macro avg"]["f1-score"])
    assert rep["weighted"]["precision"] == pytest.approx(sk["weighted avg"]["precision"])
    assert rep["confusion_matrix"] == skm.confusion_matrix(t, prob.argmax(1)).tolist()
    assert rep["roc_auc"] == pytest.approx(skm.roc_auc_score(t, prob, multi_class="ovr"))
    labels_only = metrics.classification_report(t, prob.argmax(1))
    assert "roc_auc" not in labels_only and list(labels_only["per_class"]) == ["0", "1", "2"]
    reg = metrics.regression_report([1.0, 2.0, 3.0], [1.0, 2.5, 3.0])
    assert reg == {"n_samples": 3, "mse": pytest.approx(1 / 12), "rmse": pytest.approx(np.sqrt(1 / 12)),
                   "mae": pytest.approx(1 / 6), "r2": pytest.approx(0.875)}
    assert "r2" not in metrics.regression_report([1.0], [2.0])


def test_metrics_by_name():
    assert metrics.get_metric("accuracy") is metrics.accuracy
    assert metrics.get_metric("AUC") is metrics.roc_auc
    assert metrics.get_metric(len) is len
    assert metrics.greater_is_better("f1") and not metrics.greater_is_better("mse")
    with pytest.raises(ConfigError, match="unknown metric 'acc'"):
        metrics.get_metric("acc")


# ----------------------------------------------------------------------------------------- bad input
def test_length_mismatch_empty_and_nan_are_data_errors():
    with pytest.raises(DataError, match="y_true has 3 labels but y_pred has 2; pass predictions for every sample"):
        metrics.f1([0, 1, 1], [0, 1])
    with pytest.raises(DataError, match="metrics of an empty set are undefined"):
        metrics.precision([], [])
    with pytest.raises(DataError, match="metrics of an empty set are undefined"):
        metrics.mse([], [])
    with pytest.raises(DataError, match=r"y_pred contains 1 NaN/inf value\(s\)"):
        metrics.accuracy([0, 1], [0.2, float("nan")])
    with pytest.raises(DataError, match="y_true has 2 values but y_pred has 3"):
        metrics.mae([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(DataError, match=r"y_true has 2 output\(s\) per sample but y_pred has 1"):
        metrics.mse(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(DataError, match="r2 needs at least 2 samples; got 1"):
        metrics.r2([1.0], [1.0])
    with pytest.raises(DataError, match=r"must be labels \(N,\) or scores \(N, C\); got shape \(2, 1, 1\)"):
        metrics.accuracy(np.zeros((2, 1, 1)), [0, 0])


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="unknown average 'mean'; choose one of: macro, micro, weighted, binary"):
        metrics.f1([0, 1], [0, 1], average="mean")
    with pytest.raises(ConfigError, match=r"average='binary' needs 2 classes; y_true/y_pred hold 3"):
        metrics.recall([0, 1, 2], [0, 1, 1], average="binary")
    with pytest.raises(ConfigError, match=r"pos_label='yes' is not one of the labels \[0, 1\]"):
        metrics.precision([0, 1], [1, 1], average="binary", pos_label="yes")
    with pytest.raises(ConfigError, match="unknown normalize 'rows'"):
        metrics.confusion_matrix([0], [0], normalize="rows")
    with pytest.raises(ConfigError, match=r"target_names has 1 names but there are 2 classes"):
        metrics.classification_report([0, 1], [0, 1], target_names=["a"])
    with pytest.raises(ConfigError, match="labels is empty"):
        metrics.f1([0, 1], [0, 1], labels=[])


def test_roc_auc_refuses_what_it_cannot_score():
    with pytest.raises(DataError, match=r"ROC AUC needs both classes in y_true; got only \[0\]"):
        metrics.roc_auc([0, 0], [0.1, 0.2])
    with pytest.raises(DataError, match="binary ROC AUC needs 2 classes; y_true has 3"):
        metrics.roc_auc([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(DataError, match=r"class\(es\) \[2\] are absent"):
        metrics.roc_auc([0, 1, 1], np.full((3, 3), 1 / 3))
    with pytest.raises(DataError, match="labels in 0..2"):
        metrics.roc_auc([0, 1, 5], np.full((3, 3), 1 / 3))
    with pytest.raises(DataError, match="y_true has 2 labels but y_score has 3"):
        metrics.roc_auc([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ConfigError, match=r"pos_label=7 is not one of the labels \[0, 1\]"):
        metrics.roc_auc([0, 1], [0.1, 0.2], pos_label=7)
    with pytest.raises(DataError, match=r"y_score must be \(N,\) or \(N, C\) scores"):
        metrics.roc_auc([0, 1], np.zeros((2, 2, 2)))
