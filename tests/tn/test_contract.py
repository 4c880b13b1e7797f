import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.tn.contract import (
    Plan,
    apply_plan,
    choose_path,
    dense_flops,
    dense_memory,
    factorized_flops,
    factorized_memory,
    tt_contract,
    tt_linear,
    tt_matrix_full,
)
from tesla_lab.tn.cost import candidate_plans, model_plan


def random_cores(out_shape, in_shape, ranks, seed=0, dtype=torch.float64, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    return [
        torch.randn(ranks[k], m, n, ranks[k + 1], generator=g, dtype=dtype).requires_grad_(requires_grad)
        for k, (m, n) in enumerate(zip(out_shape, in_shape))
    ]


@st.composite
def tt_configs(draw):
    d = draw(st.integers(1, 4))
    out_shape = draw(st.lists(st.integers(1, 4), min_size=d, max_size=d))
    in_shape = draw(st.lists(st.integers(1, 4), min_size=d, max_size=d))
    ranks = [1, *draw(st.lists(st.integers(1, 4), min_size=d - 1, max_size=d - 1)), 1]
    batch = draw(st.integers(1, 5))
    return out_shape, in_shape, ranks, batch


@settings(max_examples=40, deadline=None)
@given(cfg=tt_configs(), seed=st.integers(0, 1000))
def test_both_paths_equal_x_times_w_transposed(cfg, seed):
    out_shape, in_shape, ranks, batch = cfg
    cores = random_cores(out_shape, in_shape, ranks, seed)
    x = torch.randn(batch, math.prod(in_shape), dtype=torch.float64)
    expected = x @ tt_matrix_full(cores).T
    assert torch.allclose(tt_contract(x, cores), expected)
    assert torch.allclose(tt_linear(x, cores, path="factorized"), expected)
    assert torch.allclose(tt_linear(x, cores, path="dense"), expected)


def test_rebuilt_matrix_has_out_by_in_shape():
    cores = random_cores((2, 3), (4, 5), (1, 3, 1))
    assert tt_matrix_full(cores).shape == (6, 20)


def test_tt_linear_adds_bias_and_keeps_leading_dims():
    cores = random_cores((2, 3), (2, 2), (1, 2, 1))
    bias = torch.randn(6, dtype=torch.float64)
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    expected = x @ tt_matrix_full(cores).T + bias
    for path in ("auto", "factorized", "dense"):
        assert torch.allclose(tt_linear(x, cores, bias, path=path), expected)


def test_factorized_path_gradients_match_finite_differences():
    cores = random_cores((2, 3, 2), (3, 2, 2), (1, 2, 3, 1), requires_grad=True)
    x = torch.randn(3, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, *c: tt_contract(x, c), (x, *cores))


@pytest.mark.parametrize("groups", [1, 2])
def test_grouped_contraction_gradients_match_finite_differences(groups):
    cores = random_cores((2, 3, 2), (3, 2, 2), (1, 2, 3, 1), requires_grad=True)
    x = torch.randn(3, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, *c: tt_contract(x, c, groups=groups), (x, *cores))


def test_factorized_path_runs_under_cpu_autocast():
    cores = random_cores((4, 4), (4, 4), (1, 3, 1), dtype=torch.float32, requires_grad=True)
    x = torch.randn(5, 16, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = tt_contract(x, cores)
    y.float().sum().backward()
    assert y.dtype == torch.bfloat16
    assert cores[0].grad.dtype == torch.float32 and x.grad.dtype == torch.float32


def test_flop_counts_follow_the_formulas():
    out_shape, in_shape, ranks = (4, 4), (4, 4), (1, 2, 1)
    # step 1: 2 * (B * n_2) * (n_1 r_0) * (m_1 r_1); step 2: 2 * (B * m_1) * (n_2 r_1) * (m_2 r_2)
    assert factorized_flops(out_shape, in_shape, ranks, batch=3) == 2 * 12 * 4 * 8 + 2 * 12 * 8 * 4
    # rebuild: 2 * (m_1 n_1) * r_1 * (m_2 n_2 r_2), then the GEMM 2 * B * M * N
    assert dense_flops(out_shape, in_shape, ranks, batch=3) == 2 * 16 * 2 * 16 + 2 * 3 * 16 * 16


def test_memory_counts_follow_the_formulas():
    out_shape, in_shape, ranks = (4, 4), (4, 4), (1, 2, 1)
    # per step: read state P*K*R and core Q*K, write P*Q*R; (P, K, Q, R) = (3, 4, 8, 4) then (12, 8, 4, 1);
    # the first step's output is transposed (read + write 96 each), and so is x (B*N = 48) before the first step
    assert factorized_memory(out_shape, in_shape, ranks, batch=3) == (48 + 32 + 96) + (96 + 32 + 48) + 2 * 96 + 2 * 48
    # rebuild (16, 2) @ (2, 16): read 32 + 32, write 256; permute 2*256; GEMM reads x 3*16 and W 256, writes 3*16
    assert dense_memory(out_shape, in_shape, ranks, batch=3) == (32 + 32 + 256) + 512 + (48 + 256 + 48)


def test_choose_path_prefers_factorized_for_small_and_dense_for_large_batches():
    shape, ranks = (8, 4, 4, 8), (1, 8, 8, 8, 1)
    assert choose_path(shape, shape, ranks, batch=1) == "factorized"
    assert choose_path(shape, shape, ranks, batch=4096) == "dense"


def test_flops_alone_would_always_pick_the_factorized_path_here():
    # why the memory term exists: at rank 8 the factorized path has fewer FLOPs at every batch size
    shape, ranks = (8, 4, 4, 8), (1, 8, 8, 8, 1)
    assert choose_path(shape, shape, ranks, batch=4096, memory_weight=0, factorized_overhead=1) == "factorized"


def test_flop_helpers_reject_inconsistent_shapes():
    with pytest.raises(ShapeError, match=r"need len\(out_shape\) == len\(in_shape\) == d and len\(ranks\) == d \+ 1"):
        factorized_flops((2, 2), (2, 2), (1, 1), batch=1)


def test_wrong_input_width_is_a_shape_error():
    cores = random_cores((2,), (3,), (1, 1))
    with pytest.raises(ShapeError, match=r"expected inputs with last dimension 3 .* got shape \(4, 5\)"):
        tt_linear(torch.zeros(4, 5, dtype=torch.float64), cores)


def test_unknown_path_is_a_config_error():
    cores = random_cores((2,), (3,), (1, 1))
    with pytest.raises(ConfigError, match="unknown contraction path 'fast'; choose one of: auto, factorized, dense"):
        tt_linear(torch.zeros(1, 3, dtype=torch.float64), cores, path="fast")


def _trace(fn, *example):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TracerWarnings where the cores' sizes are read: they are constants
        return torch.jit.trace(fn, example)


@pytest.mark.parametrize("path", ["auto", "factorized", "dense"])
def test_traced_contraction_follows_the_batch_size(path):
    cores = random_cores((2, 3, 2), (3, 2, 2), (1, 2, 3, 1), dtype=torch.float32)
    traced = _trace(lambda x, *c: tt_linear(x, c, path=path), torch.randn(4, 12), *cores)
    bare = _trace(lambda x, *c: tt_contract(x, c), torch.randn(4, 12), *cores)
    for batch in (1, 7, 300):
        x = torch.randn(batch, 12)
        expected = x @ tt_matrix_full(cores).T
        torch.testing.assert_close(traced(x, *cores), expected, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(bare(x, *cores), expected, rtol=1e-4, atol=1e-5)


def test_factorized_path_handles_an_empty_batch():
    cores = random_cores((2, 3), (4, 5), (1, 3, 1))
    assert tt_contract(torch.zeros(0, 20, dtype=torch.float64), cores).shape == (0, 6)


SHAPES = [
    ((2, 3, 2), (3, 2, 2), (1, 2, 3, 1)),
    ((4, 2, 2, 4), (2, 4, 4, 2), (1, 3, 4, 2, 1)),
    ((2, 3, 2, 2, 3), (3, 2, 2, 3, 1), (1, 2, 3, 3, 2, 1)),
]


@pytest.mark.parametrize(("out_shape", "in_shape", "ranks"), SHAPES)
@pytest.mark.parametrize(("dtype", "tol"), [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_every_plan_matches_the_dense_reference_forward_and_gradients(out_shape, in_shape, ranks, dtype, tol):
    cores = random_cores(out_shape, in_shape, ranks, seed=3, dtype=dtype, requires_grad=True)
    bias = torch.randn(math.prod(out_shape), dtype=dtype, requires_grad=True)
    x = torch.randn(5, math.prod(in_shape), dtype=dtype, requires_grad=True)
    g = torch.randn(5, math.prod(out_shape), dtype=dtype)
    # reference: rebuild W entry by entry from the definition (one core product per index pair), then one GEMM
    ref_y = x @ _definition_matrix(cores).T + bias
    ref_grads = torch.autograd.grad(ref_y, [x, bias, *cores], g)
    scale = max(float(ref_y.detach().abs().max()), 1.0)
    for plan in candidate_plans(len(cores)):
        y = apply_plan(x, cores, bias, plan)
        grads = torch.autograd.grad(y, [x, bias, *cores], g)
        assert float((y - ref_y).detach().abs().max()) <= tol * scale, plan
        for got, want in zip(grads, ref_grads):
            assert float((got - want).abs().max()) <= tol * max(float(want.abs().max()), 1.0), plan


def _definition_matrix(cores):
    """W[(i_1..i_d), (j_1..j_d)] = G_1[:, i_1, j_1, :] @ ... @ G_d[:, i_d, j_d, :] as one einsum, not tt_matrix_full."""
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    bonds = [next(letters) for _ in range(len(cores) + 1)]
    outs = [next(letters) for _ in cores]
    ins = [next(letters) for _ in cores]
    spec = ",".join(f"{bonds[k]}{outs[k]}{ins[k]}{bonds[k + 1]}" for k in range(len(cores)))
    full = torch.einsum(f"{spec}->{''.join(outs)}{''.join(ins)}", *cores)
    return full.reshape(math.prod([c.shape[1] for c in cores]), math.prod([c.shape[2] for c in cores]))


def test_model_plan_merges_cores_at_small_batch_and_rebuilds_at_large():
    shape, ranks = (8, 4, 4, 8), (1, 8, 8, 8, 1)
    assert model_plan(shape, shape, ranks, batch=32) == Plan("factorized", 2)
    assert model_plan(shape, shape, ranks, batch=4096) == Plan("dense", 1)
    # with W cached (inference) the dense plan costs only its GEMM, so it wins earlier
    assert model_plan(shape, shape, ranks, batch=32, cached_weight=True) == Plan("dense", 1)


def test_candidates_always_include_the_dense_rebuild():
    assert candidate_plans(1) == [Plan("dense", 1), Plan("factorized", 1)]
    assert candidate_plans(5)[:2] == [Plan("dense", 1), Plan("factorized", 5)]
    assert {p.groups for p in candidate_plans(5)} == {1, 5, 2, 3}


def test_tt_linear_with_explicit_groups():
    cores = random_cores((2, 3, 2), (3, 2, 2), (1, 2, 3, 1))
    x = torch.randn(4, 12, dtype=torch.float64)
    expected = x @ tt_matrix_full(cores).T
    for groups in (1, 2, 3):
        assert torch.allclose(tt_linear(x, cores, path="factorized", groups=groups), expected)
