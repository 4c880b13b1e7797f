"""Evaluation metrics on NumPy arrays, tensors, lists or pandas objects (implemented in NumPy).

Classification metrics take ``y_pred`` as labels, class probabilities/logits (N, C) (argmax) or binary
probabilities (N,) in [0, 1] (threshold 0.5), like :func:`tesla_lab.utils.accuracy`; one-hot ``y_true`` rows are
turned into labels. Values match scikit-learn's (``zero_division=0``), which the tests check.

>>> f1([0, 1, 2, 2], [0, 2, 2, 2], average="macro")
0.6
>>> regression_report([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])["mse"]
0.3333333333333333
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from tesla_lab._registry import Registry
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.utils import to_numpy

__all__ = [
    "accuracy",
    "precision",
    "recall",
    "f1",
    "precision_recall_f1",
    "confusion_matrix",
    "roc_auc",
    "mse",
    "mae",
    "rmse",
    "r2",
    "classification_report",
    "regression_report",
    "METRICS",
    "get_metric",
    "greater_is_better",
]

Average = Literal["macro", "micro", "weighted", "binary"] | None
_AVERAGES = ("macro", "micro", "weighted", "binary", None)


# ------------------------------------------------------------------------------------------------ inputs
def _array(y: Any, name: str) -> np.ndarray:
    arr = to_numpy(y)
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = int((~np.isfinite(arr)).sum())
        raise DataError(f"{name} contains {bad} NaN/inf value(s); metrics need finite values (drop those samples)")
    return arr


def _is_scores(p: np.ndarray) -> bool:
    """Probabilities/logits rather than labels: (N, C>1) floats, or 1-D floats that are not all whole numbers."""
    if p.dtype.kind != "f":
        return False
    return (p.ndim == 2 and p.shape[1] > 1) or not np.all(np.mod(p, 1) == 0)


def _labels(y: np.ndarray, name: str, *, threshold: bool) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] > 1:  # probabilities / logits / one-hot rows: (N, C) -> (N,)
        return y.argmax(axis=1)
    if y.ndim == 2:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{name} must be labels (N,) or scores (N, C); got shape {y.shape}")
    if threshold and y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        return (y >= 0.5).astype(np.int64)  # binary probabilities of class 1
    if y.dtype.kind in "fb":  # whole floats (0.0, 1.0) and bools compare equal to the int labels they stand for
        return y.astype(np.int64)
    return y


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _array(y_true, "y_true")
    p = _array(y_pred, "y_pred")
    if len(t) != len(p):
        raise DataError(f"y_true has {len(t)} labels but y_pred has {len(p)}; pass predictions for every sample")
    if len(t) == 0:
        raise DataError("metrics of an empty set are undefined; pass at least one sample")
    return _labels(t, "y_true", threshold=False), _labels(p, "y_pred", threshold=True)


def _counts(
    t: np.ndarray, p: np.ndarray, labels: Sequence[Any] | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per class (in ``labels`` order): labels, true positives, predicted counts, true counts."""
    present = np.union1d(t, p)
    chosen = present if labels is None else np.asarray(labels)
    if len(chosen) == 0:
        raise ConfigError("labels is empty; pass the class labels to score, or labels=None for all of them")
    every = np.union1d(present, chosen)  # sorted: codes by binary search
    ti, pi = np.searchsorted(every, t), np.searchsorted(every, p)
    k = len(every)
    tp = np.bincount(ti[ti == pi], minlength=k)
    pred = np.bincount(pi, minlength=k)
    true = np.bincount(ti, minlength=k)
    sel = np.searchsorted(every, chosen)
    return chosen, tp[sel], pred[sel], true[sel]


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


def precision_recall_f1(
    y_true: Any,
    y_pred: Any,
    *,
    average: Average = "macro",
    labels: Sequence[Any] | None = None,
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> tuple[Any, Any, Any]:
    """Precision, recall and F1 in one pass (see :func:`precision` for the options).

    >>> precision_recall_f1([0, 1, 1, 1], [0, 1, 0, 1], average="binary")
    (1.0, 0.6666666666666666, 0.8)
    """
    if average not in _AVERAGES:
        raise ConfigError(f"unknown average {average!r}; choose one of: macro, micro, weighted, binary, None")
    t, p = _pair(y_true, y_pred)
    if average == "binary":
        present = np.union1d(t, p)
        if len(present) > 2:
            raise ConfigError(
                f"average='binary' needs 2 classes; y_true/y_pred hold {len(present)} ({present[:5].tolist()}...); "
                "use average='macro', 'micro' or 'weighted'"
            )
        if len(present) == 2 and pos_label not in present:
            raise ConfigError(f"pos_label={pos_label!r} is not one of the labels {present.tolist()}; pass pos_label=")
        labels = [pos_label]
    _, tp, pred, true = _counts(t, p, labels)
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    prec = _divide(tp, pred, zero_division)
    rec = _divide(tp, true, zero_division)
    f = _divide(2 * tp, pred + true, zero_division)  # 2PR/(P+R) == 2tp / (2tp + fp + fn)
    if average is None:
        return prec, rec, f
    if average == "weighted":
        if true.sum() == 0:
            return float(zero_division), float(zero_division), float(zero_division)
        w = true / true.sum()
        return float(prec @ w), float(rec @ w), float(f @ w)
    return float(prec.mean()), float(rec.mean()), float(f.mean())


def precision(
    y_true: Any,
    y_pred: Any,
    *,
    average: Average = "macro",
    labels: Sequence[Any] | None = None,
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """Precision, tp / (tp + fp), averaged over classes.

    ``average``: ``'macro'`` (plain mean over classes), ``'micro'`` (global counts), ``'weighted'`` (mean weighted by
    class support), ``'binary'`` (only ``pos_label``), or ``None`` (one value per class, an array). ``labels``
    limits/orders the classes; a class never predicted scores ``zero_division``.

    >>> precision([0, 1, 1], [1, 1, 1], average="micro")
    0.6666666666666666
    >>> precision([0, 1], [0, 1], average="mean")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: unknown average 'mean'; choose one of: macro, micro, weighted, binary, None
    """
    return precision_recall_f1(
        y_true, y_pred, average=average, labels=labels, pos_label=pos_label, zero_division=zero_division
    )[0]


def recall(
    y_true: Any,
    y_pred: Any,
    *,
    average: Average = "macro",
    labels: Sequence[Any] | None = None,
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """Recall, tp / (tp + fn), averaged like :func:`precision`.

    >>> recall([0, 1, 1], [1, 1, 1], average=None).tolist()
    [0.0, 1.0]
    """
    return precision_recall_f1(
        y_true, y_pred, average=average, labels=labels, pos_label=pos_label, zero_division=zero_division
    )[1]


def f1(
    y_true: Any,
    y_pred: Any,
    *,
    average: Average = "macro",
    labels: Sequence[Any] | None = None,
    pos_label: Any = 1,
    zero_division: float = 0.0,
) -> Any:
    """F1 score, 2·tp / (2·tp + fp + fn), averaged like :func:`precision`.

    >>> f1([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]], average="binary")
    0.6666666666666666
    """
    return precision_recall_f1(
        y_true, y_pred, average=average, labels=labels, pos_label=pos_label, zero_division=zero_division
    )[2]


def accuracy(y_true: Any, y_pred: Any) -> float:
    """Fraction of correct predictions.

    >>> accuracy([0, 1, 2], [0, 1, 1])
    0.6666666666666666
    >>> accuracy([0, 1], [0])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: y_true has 2 labels but y_pred has 1; pass predictions for every sample
    """
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    normalize: Literal["true", "pred", "all"] | None = None,
) -> np.ndarray:
    """Counts ``C[i, j]`` of samples with true class ``labels[i]`` predicted as ``labels[j]`` (rows: truth).

    ``labels`` defaults to every class seen, sorted; samples outside ``labels`` are left out. ``normalize`` divides
    by row sums (``'true'``), column sums (``'pred'``) or the total (``'all'``).

    >>> confusion_matrix([0, 1, 1], [0, 0, 1])
    array([[1, 0],
           [1, 1]])
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ConfigError(f"unknown normalize {normalize!r}; choose one of: 'true', 'pred', 'all', None")
    t, p = _pair(y_true, y_pred)
    chosen = np.union1d(t, p) if labels is None else np.asarray(labels)
    k = len(chosen)
    order = np.argsort(chosen)
    # position of each sample's label among `chosen`, or -1 when it is not one of them
    ti = np.searchsorted(chosen, t, sorter=order).clip(0, k - 1)
    pi = np.searchsorted(chosen, p, sorter=order).clip(0, k - 1)
    ti, pi = order[ti], order[pi]
    keep = (chosen[ti] == t) & (chosen[pi] == p)
    cm = np.bincount(ti[keep] * k + pi[keep], minlength=k * k).reshape(k, k)
    if normalize is None:
        return cm
    den = {"true": cm.sum(axis=1, keepdims=True), "pred": cm.sum(axis=0, keepdims=True), "all": cm.sum()}[normalize]
    return _divide(cm.astype(np.float64), np.broadcast_to(den, cm.shape).astype(np.float64), 0.0)


# ------------------------------------------------------------------------------------------------ ROC AUC
def _average_ranks(s: np.ndarray) -> np.ndarray:
    """1-based ranks of ``s``; tied values share the mean of their ranks."""
    order = np.argsort(s, kind="mergesort")
    ordered = s[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1], True])  # group boundaries, plus the end
    mean_rank = (starts[:-1] + 1 + starts[1:]) / 2.0  # group g covers 1-based ranks starts[g]+1 .. starts[g+1]
    group = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    ranks = np.empty(len(s))
    ranks[order] = mean_rank[group]
    return ranks


def _binary_auc(positive: np.ndarray, score: np.ndarray) -> float:
    # Mann-Whitney U: the chance a random positive scores above a random negative (ties count half)
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    ranks = _average_ranks(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc(y_true: Any, y_score: Any, *, pos_label: Any = None) -> float:
    """Area under the ROC curve from scores (probabilities, logits or any monotone score).

    Binary: ``y_score`` (N,) scores of the positive class or (N, 2) probabilities (column 1); the positive class is
    ``pos_label`` (default: the larger label). Multiclass: (N, C) scores give the one-vs-rest macro average, with
    ``y_true`` labels in 0..C-1.

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> roc_auc([1, 1, 1], [0.2, 0.5, 0.9])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: ROC AUC needs both classes in y_true; got only [1]
    """
    t = _labels(_array(y_true, "y_true"), "y_true", threshold=False)
    s = _array(y_score, "y_score").astype(np.float64)
    if len(t) != len(s):
        raise DataError(f"y_true has {len(t)} labels but y_score has {len(s)}; pass a score for every sample")
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if s.ndim == 2 and s.shape[1] > 2:
        c = s.shape[1]
        classes = np.unique(t)
        if not np.isin(classes, np.arange(c)).all():
            raise DataError(f"multiclass ROC AUC needs y_true labels in 0..{c - 1} (score columns); got {classes[:5]}")
        if len(classes) != c:
            missing = sorted(set(range(c)) - set(classes.tolist()))
            raise DataError(f"one-vs-rest ROC AUC needs every class in y_true; class(es) {missing} are absent")
        return float(np.mean([_binary_auc(t == k, s[:, k]) for k in range(c)]))
    if s.ndim == 2:
        s = s[:, 1]
    if s.ndim != 1:
        raise DataError(f"y_score must be (N,) or (N, C) scores; got shape {s.shape}")
    classes = np.unique(t)
    if len(classes) != 2:
        if len(classes) < 2:
            raise DataError(f"ROC AUC needs both classes in y_true; got only {classes.tolist()}")
        raise DataError(
            f"binary ROC AUC needs 2 classes; y_true has {len(classes)}; pass (N, C) scores for one-vs-rest"
        )
    positive_label = classes[1] if pos_label is None else pos_label
    if positive_label not in classes:
        raise ConfigError(f"pos_label={pos_label!r} is not one of the labels {classes.tolist()}")
    return _binary_auc(t == positive_label, s)


# --------------------------------------------------------------------------------------------- regression
def _regression_pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _array(y_true, "y_true").astype(np.float64)
    p = _array(y_pred, "y_pred").astype(np.float64)
    if len(t) != len(p):
        raise DataError(f"y_true has {len(t)} values but y_pred has {len(p)}; pass a prediction for every sample")
    if len(t) == 0:
        raise DataError("metrics of an empty set are undefined; pass at least one sample")
    t = t.reshape(len(t), -1)  # (N, outputs)
    p = p.reshape(len(p), -1)
    if t.shape != p.shape:
        raise DataError(f"y_true has {t.shape[1]} output(s) per sample but y_pred has {p.shape[1]}")
    return t, p


def mse(y_true: Any, y_pred: Any) -> float:
    """Mean squared error (over samples and outputs).

    >>> mse([0.0, 2.0], [1.0, 2.0])
    0.5
    """
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean((t - p) ** 2))


def rmse(y_true: Any, y_pred: Any) -> float:
    """Root mean squared error.

    >>> rmse([0.0, 0.0], [3.0, 3.0])
    3.0
    """
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: Any, y_pred: Any) -> float:
    """Mean absolute error.

    >>> mae([0.0, 2.0], [1.0, 4.0])
    1.5
    """
    t, p = _regression_pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def r2(y_true: Any, y_pred: Any) -> float:
    """Coefficient of determination, 1 - SS_res / SS_tot, averaged over outputs.

    A constant ``y_true`` scores 1.0 when predicted exactly, else 0.0 (scikit-learn's convention).

    >>> r2([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    >>> r2([1.0], [1.0])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: r2 needs at least 2 samples; got 1
    """
    t, p = _regression_pair(y_true, y_pred)
    if len(t) < 2:
        raise DataError(f"r2 needs at least 2 samples; got {len(t)}")
    ss_res = ((t - p) ** 2).sum(axis=0)  # (outputs,)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    score = np.where(ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res == 0, 1.0, 0.0))
    return float(score.mean())


# ------------------------------------------------------------------------------------------------ reports
def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def classification_report(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Sequence[Any] | None = None,
    target_names: Sequence[str] | None = None,
    zero_division: float = 0.0,
) -> dict[str, Any]:
    """Accuracy, per-class and averaged precision/recall/F1, the confusion matrix and (for scores) ROC AUC.

    Returns a plain JSON-able dict; per-class entries are keyed by ``target_names`` or ``str(label)``.

    >>> rep = classification_report([0, 1, 1], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], target_names=["no", "yes"])
    >>> rep["accuracy"], rep["per_class"]["yes"]["recall"], rep["roc_auc"], rep["confusion_matrix"]
    (0.6666666666666666, 0.5, 1.0, [[1, 0], [1, 1]])
    """
    t, p = _pair(y_true, y_pred)
    chosen, tp, pred, true = _counts(t, p, labels)
    if target_names is not None and len(target_names) != len(chosen):
        raise ConfigError(
            f"target_names has {len(target_names)} names but there are {len(chosen)} classes "
            f"({chosen[:10].tolist()}); pass one name per class"
        )
    names = [str(n) for n in target_names] if target_names is not None else [str(_plain(c)) for c in chosen]
    prec, rec, f = (precision_recall_f1(t, p, average=None, labels=chosen, zero_division=zero_division))
    report: dict[str, Any] = {
        "accuracy": accuracy(t, p),
        "n_samples": int(len(t)),
        "labels": [_plain(c) for c in chosen],
        "per_class": {
            n: {"precision": float(a), "recall": float(b), "f1": float(c), "support": int(s)}
            for n, a, b, c, s in zip(names, prec, rec, f, true)
        },
    }
    for avg in ("macro", "weighted"):
        a, b, c = precision_recall_f1(t, p, average=avg, labels=chosen, zero_division=zero_division)
        report[avg] = {"precision": a, "recall": b, "f1": c, "support": int(true.sum())}
    report["confusion_matrix"] = confusion_matrix(t, p, labels=chosen).tolist()
    scores = _array(y_pred, "y_pred")
    if _is_scores(scores) and len(np.unique(t)) >= 2:
        n_classes = scores.shape[1] if scores.ndim == 2 else 2
        present = np.unique(t)
        if n_classes == 2 and len(present) == 2 or n_classes > 2 and np.array_equal(present, np.arange(n_classes)):
            report["roc_auc"] = roc_auc(t, scores)
    return report


def regression_report(y_true: Any, y_pred: Any) -> dict[str, Any]:
    """MSE, RMSE, MAE, R² (when there are 2+ samples) and the sample count, as a plain dict.

    >>> regression_report([0.0, 1.0], [0.0, 1.0])
    {'n_samples': 2, 'mse': 0.0, 'rmse': 0.0, 'mae': 0.0, 'r2': 1.0}
    """
    t, _ = _regression_pair(y_true, y_pred)
    report: dict[str, Any] = {
        "n_samples": int(len(t)),
        "mse": mse(y_true, y_pred),
        "rmse": rmse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
    }
    if len(t) >= 2:
        report["r2"] = r2(y_true, y_pred)
    return report


# ------------------------------------------------------------------------------------------------ by name
METRICS: Registry[Callable[..., Any]] = Registry("metric")
_GREATER = {"accuracy", "precision", "recall", "f1", "roc_auc", "r2"}
for _fn in (accuracy, precision, recall, f1, roc_auc, mse, mae, rmse, r2):
    METRICS.register(_fn.__name__, lambda _f=_fn: _f)
METRICS.register("auc", lambda: roc_auc)
METRICS.register("f1_score", lambda: f1)


def get_metric(name: str | Callable[..., Any]) -> Callable[..., Any]:
    """The metric function for a name (``'accuracy'``, ``'f1'``, ``'mse'``, ...); callables pass through.

    >>> get_metric("F1")([0, 1], [0, 1])
    1.0
    """
    if callable(name):
        return name
    return METRICS.get(name)()


def greater_is_better(name: str) -> bool:
    """True for scores (accuracy, F1, R², ...), False for errors (MSE, MAE, RMSE): which way "best" points.

    >>> greater_is_better("accuracy"), greater_is_better("rmse")
    (True, False)
    """
    return get_metric(name).__name__ in _GREATER
