"""The two-group contraction (tesla_lab.tn.pair): same values and gradients as the rebuilt W, in every mode."""

from __future__ import annotations

import threading

import pytest
import torch

from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.tn import pair
from tesla_lab.tn.contract import apply_plan, pair_matrices, prepare_factorized, tt_matrix_full
from tesla_lab.tn.cost import Plan

SHAPES = {
    "4 cores": [(1, 4, 4, 3), (3, 2, 2, 3), (3, 2, 2, 3), (3, 4, 4, 1)],
    "2 cores": [(1, 6, 5, 3), (3, 4, 7, 1)],
    "uneven": [(1, 2, 3, 2), (2, 5, 1, 3), (3, 1, 4, 1)],
}


def _cores(shapes, dtype=torch.float64, grad=True):
    torch.manual_seed(0)
    return [torch.randn(*s, dtype=dtype, requires_grad=grad) for s in shapes]


def _graph_nodes(fn, seen=None):
    seen = set() if seen is None else seen
    if fn is not None and fn not in seen:
        seen.add(fn)
        for nxt, _ in fn.next_functions:
            _graph_nodes(nxt, seen)
    return {type(f).__name__ for f in seen}


def _sizes(shapes):
    m = n = 1
    for s in shapes:
        m, n = m * s[1], n * s[2]
    return m, n


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("batch", [1, 3])
def test_pair_plan_matches_the_rebuilt_matrix_and_passes_gradcheck(name, batch):
    cores = _cores(SHAPES[name])
    _, n = _sizes(SHAPES[name])
    x = torch.randn(batch, n, dtype=torch.float64, requires_grad=True)
    y = apply_plan(x, cores, None, Plan("factorized", 2))
    torch.testing.assert_close(y, x @ tt_matrix_full(cores).T)
    assert "_PairContractBackward" in _graph_nodes(y.grad_fn)
    assert torch.autograd.gradcheck(lambda x, *cs: apply_plan(x, list(cs), None, Plan("factorized", 2)), (x, *cores))


def test_gradients_only_for_inputs_that_need_them():
    cores = _cores(SHAPES["4 cores"])
    x = torch.randn(3, 64, dtype=torch.float64)  # no grad to x: the backward skips dx
    apply_plan(x, cores, None, Plan("factorized", 2)).sum().backward()
    ref = [c.detach().clone().requires_grad_(True) for c in cores]
    (x @ tt_matrix_full(ref).T).sum().backward()
    for c, r in zip(cores, ref):
        torch.testing.assert_close(c.grad, r.grad)


def test_the_large_batch_accumulation_gives_the_batched_sum(monkeypatch):
    cores = _cores(SHAPES["4 cores"])
    x = torch.randn(40, 64, dtype=torch.float64)
    apply_plan(x, cores, None, Plan("factorized", 2)).square().sum().backward()
    batched = [c.grad.clone() for c in cores]
    for c in cores:
        c.grad = None
    monkeypatch.setattr(pair, "SUM_TEMP_LIMIT", 0)  # every batch takes the GEMM-by-GEMM accumulation
    apply_plan(x, cores, None, Plan("factorized", 2)).square().sum().backward()
    for c, b in zip(cores, batched):
        torch.testing.assert_close(c.grad, b)


def test_without_autograd_and_while_tracing_plain_ops_run():
    cores = _cores(SHAPES["4 cores"], dtype=torch.float32, grad=False)
    x = torch.randn(4, 64)
    with torch.no_grad():
        assert apply_plan(x, cores, None, Plan("factorized", 2)).grad_fn is None
    mats = pair_matrices(cores)
    for example in (x[:1], x):  # traced at one batch size, run at others
        traced = torch.jit.trace(lambda x: pair.pair_contract(x, *mats), (example,), check_trace=False)
        assert "PythonOp" not in str(traced.graph)  # a trace holds ordinary operators (ONNX export, TorchScript)
        for batch in (1, 3, 4):
            torch.testing.assert_close(traced(x[:batch]), x[:batch] @ tt_matrix_full(cores).T, atol=1e-4, rtol=1e-4)


def test_under_cpu_autocast_the_output_is_bfloat16_and_gradients_keep_their_dtype():
    cores = _cores(SHAPES["4 cores"], dtype=torch.float32)
    x = torch.randn(5, 64, requires_grad=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = apply_plan(x, cores, None, Plan("factorized", 2))
    assert y.dtype == torch.bfloat16
    y.float().sum().backward()
    assert x.grad.dtype == torch.float32 and all(c.grad.dtype == torch.float32 for c in cores)
    ref = x.detach() @ tt_matrix_full([c.detach() for c in cores]).T
    torch.testing.assert_close(y.float(), ref, atol=0.5, rtol=0.05)


def test_prepare_factorized_gives_pair_matrices_for_two_groups_only():
    cores = _cores(SHAPES["uneven"], grad=False)
    assert isinstance(prepare_factorized(cores, 2), tuple)
    assert isinstance(prepare_factorized(cores, 3), list)


def test_ttlinear_factorized_two_groups_trains_through_the_pair_function():
    layer = TTLinear(64, 48, rank=4, path="factorized")
    layer._plans.clear()
    x = torch.randn(8, 64)
    from tesla_lab.tn.autotune import choose_plan

    if choose_plan(list(layer.cores), 8, path="factorized", timing=False).groups != 2:
        pytest.skip("the model picks another grouping for this shape")
    y = layer(x)
    assert "_PairContractBackward" in _graph_nodes(y.grad_fn)
    y.sum().backward()
    assert all(c.grad is not None and torch.isfinite(c.grad).all() for c in layer.cores)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("batch", [1, 64])
def test_pair_contraction_on_cuda_matches_the_rebuilt_matrix_in_float32_and_under_autocast(batch):
    cores = [c.detach().cuda().requires_grad_(True) for c in _cores(SHAPES["4 cores"], dtype=torch.float32)]
    x = torch.randn(batch, 64, device="cuda", requires_grad=True)
    y = apply_plan(x, cores, None, Plan("factorized", 2))
    ref_cores = [c.detach().clone().requires_grad_(True) for c in cores]
    ref_x = x.detach().clone().requires_grad_(True)
    ref = ref_x @ tt_matrix_full(ref_cores).T
    torch.testing.assert_close(y, ref, atol=1e-4, rtol=1e-4)
    y.square().sum().backward()
    ref.square().sum().backward()
    torch.testing.assert_close(x.grad, ref_x.grad, atol=1e-3, rtol=1e-3)
    for c, r in zip(cores, ref_cores):
        torch.testing.assert_close(c.grad, r.grad, atol=1e-3, rtol=1e-3)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        low = apply_plan(x, cores, None, Plan("factorized", 2))
    assert low.dtype == torch.bfloat16
    low.float().sum().backward()
    assert all(torch.isfinite(c.grad).all() for c in cores)


def test_the_cpu_buffer_pool_is_reused_and_does_not_change_gradients(monkeypatch):
    monkeypatch.setattr(pair, "WORKSPACE_MIN", 1)  # every backward temporary goes through the per-thread buffer
    monkeypatch.setattr(pair, "_local", threading.local())
    cores = _cores(SHAPES["4 cores"])
    x = torch.randn(6, 64, dtype=torch.float64, requires_grad=True)
    grads = []
    for _ in range(2):  # the second backward writes into the buffer the first one left
        for t in (x, *cores):
            t.grad = None
        apply_plan(x, cores, None, Plan("factorized", 2)).square().sum().backward()
        grads.append([t.grad.clone() for t in (x, *cores)])
    ref_x = x.detach().clone().requires_grad_(True)
    ref_cores = [c.detach().clone().requires_grad_(True) for c in cores]
    (ref_x @ tt_matrix_full(ref_cores).T).square().sum().backward()
    for got in grads:
        for g, r in zip(got, (ref_x, *ref_cores)):
            torch.testing.assert_close(g, r.grad)
    assert [len(free) for free in pair._local.pool.values()] == [2]  # T and dT, both given back


def test_a_retained_graph_backpropagates_twice_with_the_pooled_buffer_given_back(monkeypatch):
    monkeypatch.setattr(pair, "WORKSPACE_MIN", 1)
    monkeypatch.setattr(pair, "_local", threading.local())
    cores = _cores(SHAPES["4 cores"])
    x = torch.randn(6, 64, dtype=torch.float64, requires_grad=True)
    y = apply_plan(x, cores, None, Plan("factorized", 2)).square().sum()
    y.backward(retain_graph=True)
    once = [t.grad.clone() for t in (x, *cores)]
    apply_plan(x.detach() * 0 + 7, cores, None, Plan("factorized", 2))  # reuses the pooled T meanwhile
    y.backward()  # T is recomputed, not read from the reused buffer
    for t, g in zip((x, *cores), once):
        torch.testing.assert_close(t.grad, 2 * g)
