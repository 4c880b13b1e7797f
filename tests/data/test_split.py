import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.data import split_indices, train_test_split
from tesla_lab.errors import ConfigError, DataError


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(5, 200),
    test=st.floats(0.05, 0.5),
    val=st.sampled_from([0.0, 0.1, 0.2]),
    seed=st.integers(0, 2**16),
)
def test_parts_are_disjoint_cover_everything_and_have_the_asked_sizes(n, test, val, seed):
    train, val_idx, test_idx = split_indices(n, test_size=test, val_size=val, seed=seed)
    # the asked fraction, rounded up to whole samples
    assert test * n - 1e-9 <= len(test_idx) < test * n + 1
    assert val * n - 1e-9 <= len(val_idx) < val * n + 1 and (len(val_idx) == 0) == (val == 0)
    together = np.concatenate([train, val_idx, test_idx])
    assert sorted(together.tolist()) == list(range(n))


def test_fractions_are_not_rounded_up_by_float_error():
    # 0.28 * 25 == 7.000000000000001 in floating point
    assert len(split_indices(25, test_size=0.28)[2]) == 7


def test_stratified_split_keeps_class_proportions():
    y = np.array([0] * 60 + [1] * 30 + [2] * 10)
    X = np.arange(100)
    X_train, X_val, X_test, y_train, y_val, y_test = train_test_split(
        X, y, test_size=0.2, val_size=0.1, stratify=True, seed=3
    )
    assert np.bincount(y_test).tolist() == [12, 6, 2]
    assert np.bincount(y_val).tolist() == [6, 3, 1]
    assert np.bincount(y_train).tolist() == [42, 21, 7]
    np.testing.assert_array_equal(y[X_train], y_train)  # rows stay paired


def test_unstratified_split_of_rare_class_can_miss_it_but_stratified_never_does():
    y = np.array([0] * 95 + [1] * 5)
    for seed in range(10):
        _, y_test = train_test_split(y, test_size=0.2, stratify=y, seed=seed)
        assert (y_test == 1).sum() == 1


def test_same_seed_same_split_other_seed_other_split():
    X = np.arange(50)
    a = train_test_split(X, seed=1)[1]
    assert np.array_equal(a, train_test_split(X, seed=1)[1])
    assert not np.array_equal(a, train_test_split(X, seed=2)[1])


def test_frames_keep_index_tensors_keep_device_lists_stay_lists():
    df = pd.DataFrame({"a": range(10)}, index=[f"r{i}" for i in range(10)])
    s = pd.Series(range(10), index=df.index)
    tr, te, ytr, yte = train_test_split(df, s, test_size=3)
    assert isinstance(tr, pd.DataFrame) and len(te) == 3 and tr.index.tolist() == ytr.index.tolist()
    assert set(tr.index) | set(te.index) == set(df.index)
    t = torch.arange(10.0)
    ttr, tte = train_test_split(t)
    assert isinstance(ttr, torch.Tensor) and ttr.device == t.device and len(tte) == 2
    ltr, lte = train_test_split(list("abcdefghij"), test_size=0.5)
    assert isinstance(ltr, list) and sorted(ltr + lte) == list("abcdefghij")


def test_no_shuffle_takes_the_tail_as_test():
    tr, va, te = train_test_split(np.arange(10), test_size=2, val_size=3, shuffle=False)
    assert tr.tolist() == [0, 1, 2, 3, 4] and va.tolist() == [5, 6, 7] and te.tolist() == [8, 9]
    with pytest.raises(ConfigError, match="stratify needs shuffle=True"):
        train_test_split(np.arange(10), np.arange(10) % 2, stratify=True, shuffle=False)


def test_one_hot_labels_stratify_by_class():
    y = np.eye(2)[np.array([0] * 8 + [1] * 2)]
    _, _, _, y_test = train_test_split(np.arange(10), y, test_size=0.5, stratify=True)
    assert y_test.sum(axis=0).tolist() == [4.0, 1.0]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"test_size": 1.5}, r"test_size must be a fraction in \[0, 1\) or a sample count; got 1.5"),
        ({"test_size": -0.1}, "test_size must be a fraction"),
        ({"test_size": "big"}, "test_size must be a fraction"),
        ({"test_size": True}, "test_size must be a fraction"),
        ({"test_size": 0}, "gives an empty test set"),
        ({"test_size": 10}, "test_size=10 samples leaves nothing to train on"),
        ({"test_size": 0.5, "val_size": 0.5}, "test_size \\+ val_size cover 10 of 10 samples"),
    ],
)
def test_bad_sizes_are_config_errors(kw, message):
    with pytest.raises(ConfigError, match=message):
        train_test_split(np.arange(10), **kw)


def test_bad_data_is_a_data_error():
    with pytest.raises(DataError, match="X has 3 samples but y has 2"):
        train_test_split(np.zeros(3), np.zeros(2))
    with pytest.raises(DataError, match=r"cannot split 1 sample\(s\)"):
        train_test_split(np.zeros(1))
    with pytest.raises(DataError, match=r"class\(es\) \[1\] have a single sample"):
        train_test_split(np.arange(10), np.array([0] * 9 + [1]), stratify=True)
    with pytest.raises(DataError, match="cannot make a stratified split of 10 samples"):
        train_test_split(np.arange(10), np.arange(10) % 5, test_size=2, stratify=True)
    with pytest.raises(DataError, match="stratify has 3 labels for 10 samples"):
        train_test_split(np.arange(10), stratify=[0, 1, 0])
    with pytest.raises(ConfigError, match="stratify=True needs the labels y"):
        train_test_split(np.arange(10), stratify=True)
    with pytest.raises(DataError, match="X must be an array, tensor, DataFrame or list; got int"):
        train_test_split(5)
