import numpy as np
import pandas as pd
import pytest
import torch

import tesla_lab as tesla
from tesla_lab.errors import ConfigError, DataError
from tesla_lab.utils import accuracy, check_xy, resolve_device, to_tensor


def test_to_tensor_converts_frames_and_keeps_integer_labels():
    t = to_tensor(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    assert t.dtype == torch.float32 and t.shape == (2, 2)
    assert to_tensor(np.array([1, 2])).dtype == torch.int64
    assert to_tensor(np.array([1.5], dtype=np.float64)).dtype == torch.float32


@pytest.mark.parametrize("bad", [[1.0, float("nan")], [float("inf"), 0.0]])
def test_to_tensor_refuses_nan_and_inf(bad):
    with pytest.raises(DataError, match=r"X contains 1 NaN/inf value\(s\) \(first at index \(\d,\)\); drop or impute"):
        to_tensor(bad)


def test_to_tensor_refuses_text_with_the_value_and_a_fix():
    with pytest.raises(DataError, match="X must be numeric; found a str value 'red'. Encode"):
        to_tensor(np.array([[1, "red"]], dtype=object))


def test_to_tensor_refuses_empty_and_ragged():
    with pytest.raises(DataError, match=r"X is empty \(shape \(0,\)\)"):
        to_tensor([])
    with pytest.raises(DataError, match="cannot be turned into an array"):
        to_tensor([[1, 2], [3]])


def test_check_xy_names_both_lengths():
    with pytest.raises(DataError, match="X has 3 samples but y has 4"):
        check_xy(torch.zeros(3), torch.zeros(4))


def test_accuracy_accepts_labels_probabilities_and_one_hot():
    assert accuracy([0, 1, 2], [0, 1, 1]) == pytest.approx(2 / 3)
    assert accuracy([0, 1], np.array([[0.9, 0.1], [0.4, 0.6]])) == 1.0
    assert accuracy(np.eye(3), [0, 1, 2]) == 1.0
    assert accuracy([1, 0], [0.7, 0.2]) == 1.0
    with pytest.raises(DataError, match="y_true has 2 labels but y_pred has 3"):
        accuracy([0, 1], [0, 1, 1])


def test_set_seed_makes_torch_and_numpy_repeatable():
    tesla.utils.set_seed(3)
    a = (torch.rand(3), np.random.rand(3))
    tesla.utils.set_seed(3)
    assert torch.equal(a[0], torch.rand(3)) and np.array_equal(a[1], np.random.rand(3))


def test_resolve_device_rejects_unknown_and_missing_devices():
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        resolve_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available here; use 'cpu' or 'auto'"):
            resolve_device("cuda:0")


def test_to_tensor_names_row_and_column_of_the_first_bad_value():
    X = np.zeros((5, 3), dtype=np.float32)
    X[3, 2] = np.inf
    X[4, 0] = np.nan
    with pytest.raises(DataError, match=r"X contains 2 NaN/inf value\(s\) \(first at row 3, column 2\); drop or"):
        to_tensor(X)
    X[3, 2] = -np.inf
    X[4, 0] = 0.0
    with pytest.raises(DataError, match=r"first at row 3, column 2"):
        to_tensor(torch.from_numpy(X))


def test_to_tensor_accepts_huge_finite_values_whose_sum_overflows():
    X = np.full((4, 2), 3e38, dtype=np.float32)  # the sum overflows to inf; the full scan finds nothing bad
    assert torch.equal(to_tensor(X), torch.from_numpy(X))
    half = torch.full((70000,), 60000.0, dtype=torch.float16)  # fp16 sum would overflow; checked in float32
    assert to_tensor(half, dtype=torch.float16).dtype == torch.float16


def test_to_tensor_converts_once_to_the_float_dtype_asked_for():
    x = np.array([1.0 + 1e-12, 2.0])
    t = to_tensor(x, float_dtype=torch.float64)
    assert t.dtype == torch.float64 and t[0].item() == 1.0 + 1e-12  # no lossy float32 stop on the way
    assert to_tensor(np.array([1, 2]), float_dtype=torch.float64).dtype == torch.int64  # labels stay integer


def test_to_tensor_never_aliases_a_read_only_array():
    arr = np.arange(6, dtype=np.float32).reshape(3, 2)
    arr.flags.writeable = False
    t = to_tensor(arr)
    t[0, 0] = 100.0
    assert arr[0, 0] == 0.0
    writable = np.arange(4, dtype=np.float32)
    assert to_tensor(writable).data_ptr() == writable.ctypes.data  # a writable float32 array is not copied


def test_to_tensor_moves_then_checks_on_the_device():
    t = to_tensor(np.ones((2, 2)), device="cpu")
    assert t.device.type == "cpu" and t.dtype == torch.float32


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_to_tensor_checks_on_cuda():
    X = torch.zeros(100, 4)
    X[7, 1] = float("nan")
    with pytest.raises(DataError, match=r"first at row 7, column 1"):
        to_tensor(X, device="cuda")
    assert to_tensor(np.ones((3, 2)), device="cuda").device.type == "cuda"
