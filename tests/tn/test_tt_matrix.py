import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import FactorizationError, ShapeError
from tesla_lab.tn.tt_matrix import TTMatrix


def random_tt_matrix(out_shape, in_shape, ranks, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TTMatrix([
        torch.randn(ranks[k], m, n, ranks[k + 1], generator=g, dtype=torch.float64)
        for k, (m, n) in enumerate(zip(out_shape, in_shape))
    ])


def test_layout_matches_nn_linear_weight_entry_by_entry():
    # W[(i1, i2), (j1, j2)] = G1[0, i1, j1, :] @ G2[:, i2, j2, 0], rows = outputs as in nn.Linear.weight
    tt = random_tt_matrix((2, 3), (4, 5), (1, 2, 1))
    w = tt.full()
    assert w.shape == (6, 20)
    g1, g2 = tt.cores
    for i1, i2, j1, j2 in [(0, 0, 0, 0), (1, 2, 3, 4), (0, 1, 2, 3), (1, 0, 0, 4)]:
        expected = g1[0, i1, j1, :] @ g2[:, i2, j2, 0]
        assert torch.allclose(w[i1 * 3 + i2, j1 * 5 + j2], expected)


def test_from_matrix_recovers_a_low_rank_tt_matrix_exactly():
    src = random_tt_matrix((2, 3, 4), (3, 2, 2), (1, 3, 4, 1))
    tt = TTMatrix.from_matrix(src.full(), (2, 3, 4), (3, 2, 2))
    assert tt.ranks == (1, 3, 4, 1)
    assert tt.relative_error(src.full()) < 1e-12


@settings(max_examples=25, deadline=None)
@given(tol=st.floats(0.02, 0.9), seed=st.integers(0, 1000))
def test_tolerance_bounds_the_matrix_error(tol, seed):
    w = torch.randn(12, 20, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    tt = TTMatrix.from_matrix(w, (3, 4), (4, 5), tol=tol)
    assert tt.relative_error(w) <= tol * (1 + 1e-9)


def test_max_rank_caps_ranks_and_shrinks_the_parameters():
    w = torch.randn(64, 64)
    tt = TTMatrix.from_matrix(w, (4, 4, 4), (4, 4, 4), max_rank=3)
    assert max(tt.ranks) == 3
    assert tt.num_params == 16 * 3 + 3 * 16 * 3 + 3 * 16
    assert tt.compression_ratio == pytest.approx(64 * 64 / tt.num_params)


def test_shapes_are_factorized_when_omitted():
    w = torch.randn(16, 36)
    tt = TTMatrix.from_matrix(w)
    assert tt.shape == (16, 36) and len(tt.out_shape) == len(tt.in_shape) >= 2
    one_side = TTMatrix.from_matrix(w, out_shape=(2, 2, 4))
    assert len(one_side.in_shape) == 3 and one_side.shape == (16, 36)
    other_side = TTMatrix.from_matrix(w, in_shape=(6, 6))
    assert len(other_side.out_shape) == 2
    assert repr(other_side).startswith("TTMatrix(shape=(16, 36)")


def test_shape_with_wrong_product_is_a_factorization_error():
    with pytest.raises(FactorizationError, match=r"out_shape \(4, 5\) multiplies to 20 but out_features is 16"):
        TTMatrix.from_matrix(torch.randn(16, 36), (4, 5), (6, 6))


def test_shapes_of_different_lengths_are_a_shape_error():
    with pytest.raises(ShapeError, match=r"must have the same number of modes"):
        TTMatrix.from_matrix(torch.randn(16, 36), (4, 4), (2, 3, 6))


def test_non_matrix_input_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"matrix must be 2-d \(out_features, in_features\); got shape \(2, 3, 4\)"):
        TTMatrix.from_matrix(torch.randn(2, 3, 4))


def test_relative_error_shape_mismatch_is_a_shape_error():
    tt = random_tt_matrix((2,), (3,), (1, 1))
    msg = r"cannot compare an array of shape \(3, 2\) with a TT-matrix of shape \(2, 3\)"
    with pytest.raises(ShapeError, match=msg):
        tt.relative_error(torch.zeros(3, 2))


@pytest.mark.parametrize(
    ("cores", "match"),
    [
        ([], "at least one core"),
        ([torch.ones(1, 2, 1)], "must be a 4-d tensor"),
        ([torch.ones(1, 2, 2, 2)], "first core must start and the last core end with rank 1"),
        ([torch.ones(1, 2, 2, 3), torch.ones(2, 2, 2, 1)], "TT-matrix cores must chain: core 0 has right rank 3"),
    ],
)
def test_invalid_cores_are_shape_errors(cores, match):
    with pytest.raises(ShapeError, match=match):
        TTMatrix(cores)
