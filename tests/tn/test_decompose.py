import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError, DataError, NotFittedError, ShapeError
from tesla_lab.tn.decompose import TTSVD, TensorTrain, tt_svd


def random_tt(shape, ranks, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return TensorTrain([torch.randn(ranks[k], n, ranks[k + 1], generator=g, dtype=dtype) for k, n in enumerate(shape)])


@pytest.mark.parametrize(
    ("shape", "ranks"),
    [((4, 5, 6), (1, 2, 3, 1)), ((3, 3, 3, 3), (1, 3, 2, 3, 1)), ((6, 7), (1, 4, 1)), ((5,), (1, 1))],
)
def test_known_low_rank_tensor_is_recovered_exactly_with_its_ranks(shape, ranks):
    full = random_tt(shape, ranks).full()
    tt = tt_svd(full)
    assert tt.ranks == ranks
    assert tt.shape == shape
    assert tt.relative_error(full) < 1e-12


def test_float32_tensor_is_recovered_to_float32_precision():
    full = random_tt((4, 6, 5), (1, 3, 2, 1), dtype=torch.float32).full()
    tt = tt_svd(full)
    assert tt.ranks == (1, 3, 2, 1)
    assert tt.cores[0].dtype == torch.float32
    assert tt.relative_error(full) < 1e-5


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=2, max_size=4),
    tol=st.floats(0.01, 0.95),
    seed=st.integers(0, 2**16),
)
def test_random_tensor_respects_the_error_bound(shape, tol, seed):
    a = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    tt = tt_svd(a, tol=tol)
    assert tt.relative_error(a) <= tol * (1 + 1e-9)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=2, max_size=4), max_rank=st.integers(1, 4))
def test_max_rank_is_respected(shape, max_rank):
    a = torch.randn(*shape, dtype=torch.float64)
    tt = tt_svd(a, max_rank=max_rank)
    assert max(tt.ranks) <= max_rank
    assert tt.shape == tuple(shape)


def test_per_cut_max_rank_list_is_respected():
    a = torch.randn(4, 5, 6, 7, dtype=torch.float64)
    assert tt_svd(a, max_rank=[2, 5, 3]).ranks == (1, 2, 5, 3, 1)


def test_looser_tolerance_never_needs_more_parameters():
    a = torch.randn(6, 6, 6, dtype=torch.float64)
    sizes = [tt_svd(a, tol=t).num_params for t in (0.05, 0.3, 0.6, 0.9)]
    assert sizes == sorted(sizes, reverse=True)


def test_numpy_and_integer_input_are_accepted():
    tt = tt_svd(np.arange(24).reshape(2, 3, 4))
    assert tt.cores[0].dtype == torch.get_default_dtype()
    assert tt.relative_error(np.arange(24.0).reshape(2, 3, 4)) < 1e-5


def test_half_precision_is_decomposed_and_cast_back():
    a = torch.ones(2, 3, 4, dtype=torch.bfloat16)
    tt = tt_svd(a)
    assert tt.cores[0].dtype == torch.bfloat16 and tt.ranks == (1, 1, 1, 1)


def test_zero_tensor_gives_rank_one_and_zero_error():
    tt = tt_svd(torch.zeros(3, 4))
    assert tt.ranks == (1, 1, 1)
    assert tt.relative_error(torch.zeros(3, 4)) == 0.0


def test_result_is_detached_from_autograd():
    a = torch.randn(3, 4, requires_grad=True)
    assert not tt_svd(a).cores[0].requires_grad


def test_tensor_train_properties():
    tt = random_tt((2, 3, 4), (1, 2, 2, 1))
    assert tt.num_params == 2 * 2 + 2 * 3 * 2 + 2 * 4
    assert tt.compression_ratio == pytest.approx(24 / tt.num_params)
    assert tt.ndim == 3
    assert repr(tt) == "TensorTrain(shape=(2, 3, 4), ranks=(1, 2, 2, 1), params=24)"


def test_full_is_differentiable_with_respect_to_cores():
    tt = random_tt((2, 3), (1, 2, 1))
    for c in tt.cores:
        c.requires_grad_(True)
    tt.full().sum().backward()
    assert all(c.grad is not None for c in tt.cores)


@pytest.mark.parametrize("max_rank", [0, -1, 2.5, True])
def test_rank_below_one_or_non_int_is_a_config_error(max_rank):
    with pytest.raises(ConfigError, match="TT ranks must be integers >= 1"):
        tt_svd(torch.ones(2, 2), max_rank=max_rank)


def test_rank_list_of_wrong_length_is_a_config_error():
    with pytest.raises(ConfigError, match=r"max_rank as a list needs one rank per cut between cores, i\.e\. 2 entries"):
        tt_svd(torch.ones(2, 2, 2), max_rank=[2])


@pytest.mark.parametrize("tol", [0, 0.0, 1, 1.5, -0.1, True])
def test_nonsense_tolerance_is_a_config_error(tol):
    with pytest.raises(ConfigError, match=r"tol is a relative error and must lie in \(0, 1\)"):
        tt_svd(torch.ones(2, 2), tol=tol)


def test_zero_dimensional_tensor_is_a_shape_error():
    with pytest.raises(ShapeError, match="at least one dimension.*0-d tensor"):
        tt_svd(torch.tensor(3.0))


def test_empty_tensor_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"tensor is empty \(shape \(2, 0\)\)"):
        tt_svd(torch.ones(2, 0))


def test_non_finite_tensor_is_a_data_error():
    with pytest.raises(DataError, match="NaN/inf"):
        tt_svd(torch.tensor([[1.0, float("nan")]]))


def test_non_numeric_input_is_a_data_error():
    with pytest.raises(DataError, match="cannot be turned into a numeric tensor"):
        tt_svd([["a", "b"]])


def test_relative_error_shape_mismatch_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"cannot compare an array of shape \(3,\) with a TT of shape \(2,\)"):
        TensorTrain([torch.ones(1, 2, 1)]).relative_error(torch.ones(3))


@pytest.mark.parametrize(
    ("cores", "match"),
    [
        ([], "at least one core"),
        ([torch.ones(1, 2)], "must be a 3-d tensor"),
        ([torch.ones(2, 2, 1)], "first core must start and the last core end with rank 1"),
        ([torch.ones(1, 2, 3), torch.ones(2, 2, 1)], "TT cores must chain: core 0 has right rank 3"),
    ],
)
def test_invalid_cores_are_shape_errors(cores, match):
    with pytest.raises(ShapeError, match=match):
        TensorTrain(cores)


def test_estimator_fits_and_returns_self():
    a = random_tt((3, 4, 5), (1, 2, 2, 1)).full()
    est = TTSVD(tol=1e-6)
    assert est.fit(a) is est
    assert est.ranks_ == (1, 2, 2, 1)
    assert est.relative_error_ < 1e-6
    assert torch.allclose(est.inverse_transform(), a)
    assert TTSVD(max_rank=1).fit_transform(a).ranks == (1, 1, 1, 1)


def test_estimator_used_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError, match=r"TTSVD is not fitted yet; call fit\(tensor\) first"):
        _ = TTSVD().ranks_


def _smooth_cube(n: int = 100) -> torch.Tensor:
    """1 / (0.05 + x + y + z) on a uniform grid of [0, 1]^3: singular values decay fast but never reach zero."""
    g = torch.linspace(0, 1, n, dtype=torch.float64)
    x, y, z = torch.meshgrid(g, g, g, indexing="ij")
    return 1.0 / (0.05 + x + y + z)


def test_float32_keeps_max_rank_and_matches_float64_accuracy():
    a64 = _smooth_cube()
    tt64 = tt_svd(a64, max_rank=6)
    tt32 = tt_svd(a64.float(), max_rank=6)
    assert tt64.ranks == tt32.ranks == (1, 6, 6, 1)
    assert tt32.cores[0].dtype == torch.float32
    err64, err32 = tt64.relative_error(a64), tt32.relative_error(a64.float())
    assert 1e-6 < err64 < 1e-4  # a real truncation error, far above float32 round-off
    assert err32 <= 1.2 * err64


def test_rank_below_max_rank_only_when_the_tail_is_rounding_noise(caplog):
    # an exactly rank-2 tensor stored in float32: ranks beyond 2 would only fit rounding noise
    a = random_tt((6, 7, 8), (1, 2, 2, 1), dtype=torch.float32).full()
    with caplog.at_level("INFO", logger="tesla_lab.tn.decompose"):
        tt = tt_svd(a, max_rank=5)
    assert tt.ranks == (1, 2, 2, 1)
    assert "below max_rank 5" in caplog.text
    assert tt.relative_error(a) < 1e-6
