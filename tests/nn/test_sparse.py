"""Tests for tesla_lab.nn.sparse: SparseLinear, magnitude pruning and the prune() report."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn.sparse import LayerPruneStats, PruneReport, SparseLinear, check_sparsity, prune

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


# ------------------------------------------------------------------------------------------------ construction
def test_forward_equals_linear_with_masked_weight() -> None:
    layer = SparseLinear(12, 7, sparsity=0.6)
    x = torch.randn(5, 3, 12)
    expected = x @ (layer.weight * layer.mask).t() + layer.bias
    torch.testing.assert_close(layer(x), expected)
    assert layer(x).shape == (5, 3, 7)


def test_init_sparsity_is_exact_and_masked_weights_are_zero() -> None:
    layer = SparseLinear(40, 25, sparsity=0.8)
    assert layer.sparsity == pytest.approx(0.8)
    assert layer.nnz == 200
    assert bool((layer.weight[~layer.mask] == 0).all())
    assert layer.mask.dtype == torch.bool


def test_sparse_init_keeps_dense_output_variance() -> None:
    x = torch.randn(4096, 256)
    dense_var = SparseLinear(256, 256, bias=False)(x).var().item()
    sparse_var = SparseLinear(256, 256, bias=False, sparsity=0.9)(x).var().item()
    # Kaiming-uniform(a=sqrt(5)) gives Var(y) = Var(x) / 3 per output; pruning must not shrink it 10x.
    assert dense_var == pytest.approx(1 / 3, rel=0.15)
    assert sparse_var == pytest.approx(dense_var, rel=0.2)


def test_no_bias_counts_only_weights() -> None:
    layer = SparseLinear(10, 10, bias=False, sparsity=0.5)
    assert layer.bias is None
    assert layer.num_params == layer.nnz == 50


@pytest.mark.parametrize("bad", [1.5, -0.1, 1.0, float("nan"), True, "0.5"])
def test_sparsity_outside_unit_interval_raises_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"sparsity must be in \[0, 1\): fraction of weights set to zero; got"):
        SparseLinear(4, 4, sparsity=bad)  # type: ignore[arg-type]


def test_sparsity_error_names_the_value() -> None:
    with pytest.raises(ConfigError, match=r"got 1\.5 \(e\.g\. 0\.9 keeps 10% of the weights\)"):
        check_sparsity(1.5)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_non_positive_features_raise(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"in_features must be a positive int; got"):
        SparseLinear(bad, 4)  # type: ignore[arg-type]


def test_bad_sparse_inference_min_raises() -> None:
    with pytest.raises(ConfigError, match=r"sparse_inference_min must be in \[0, 1\].*got 2"):
        SparseLinear(4, 4, sparse_inference_min=2)


def test_wrong_input_width_raises_shape_error_naming_both() -> None:
    layer = SparseLinear(8, 3)
    with pytest.raises(ShapeError, match=r"in_features=8\); got shape \(2, 7\)"):
        layer(torch.randn(2, 7))
    with pytest.raises(ShapeError, match=r"got shape \(\)"):
        layer(torch.tensor(1.0))


# ------------------------------------------------------------------------------------------------ training
def test_masked_weights_stay_exactly_zero_under_adam_with_weight_decay() -> None:
    layer = SparseLinear(16, 8, sparsity=0.7)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1, weight_decay=0.1)
    x, y = torch.randn(32, 16), torch.randn(32, 8)
    start = layer.weight.detach().clone()
    for _ in range(5):
        opt.zero_grad()
        nn.functional.mse_loss(layer(x), y).backward()
        assert bool((layer.weight.grad[~layer.mask] == 0).all())
        opt.step()
    assert bool((layer.weight[~layer.mask] == 0).all())
    assert not torch.equal(layer.weight[layer.mask], start[layer.mask])  # kept weights did train


def test_masked_gradient_is_zero_even_for_non_finite_upstream_gradient() -> None:
    layer = SparseLinear(4, 2, bias=False, sparsity=0.5)
    x = torch.tensor([[float("inf"), 1.0, 1.0, 1.0]])
    layer(x).sum().backward()
    assert bool((layer.weight.grad[~layer.mask] == 0).all())


def test_forward_ignores_values_written_into_masked_entries() -> None:
    layer = SparseLinear(6, 4, sparsity=0.5)
    x = torch.randn(3, 6)
    before = layer(x)
    with torch.no_grad():
        layer.weight[~layer.mask] = 100.0
    torch.testing.assert_close(layer(x), before)
    layer.apply_mask_()
    assert bool((layer.weight[~layer.mask] == 0).all())


# ------------------------------------------------------------------------------------------------ pruning
def test_from_linear_removes_smallest_magnitudes_and_keeps_the_rest() -> None:
    dense = nn.Linear(10, 10)
    sparse = SparseLinear.from_linear(dense, sparsity=0.9)
    kept = dense.weight.detach().abs()[sparse.mask]
    dropped = dense.weight.detach().abs()[~sparse.mask]
    assert sparse.nnz == 10
    assert kept.min() >= dropped.max()
    torch.testing.assert_close(sparse.weight[sparse.mask], dense.weight[sparse.mask])
    torch.testing.assert_close(sparse.bias, dense.bias)


def test_from_linear_rejects_other_modules() -> None:
    with pytest.raises(ConfigError, match=r"from_linear expects a torch.nn.Linear; got Conv1d"):
        SparseLinear.from_linear(nn.Conv1d(2, 2, 1))  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(1, 12),
    cols=st.integers(1, 12),
    levels=st.lists(st.floats(0.0, 0.99, allow_nan=False), min_size=1, max_size=4),
)
def test_prune_is_monotone_and_hits_the_target(rows: int, cols: int, levels: list[float]) -> None:
    layer = SparseLinear(cols, rows)
    previous_mask = layer.mask.clone()
    for level in levels:
        layer.prune(level)
        n = rows * cols
        expected_zeros = max(n - previous_mask.sum().item(), min(int(level * n + 0.5), n - 1))
        assert n - layer.nnz == expected_zeros
        assert not bool((layer.mask & ~previous_mask).any())  # never un-prunes
        assert bool((layer.weight[~layer.mask] == 0).all())
        previous_mask = layer.mask.clone()


def test_prune_never_revives_masked_entries_holding_stale_values() -> None:
    layer = SparseLinear(10, 10, sparsity=0.5)
    mask = layer.mask.clone()
    with torch.no_grad():  # e.g. momentum from an optimizer created before pruning moved them off zero
        layer.weight[~mask] = 100.0
    layer.prune(0.6)
    assert not bool((layer.mask & ~mask).any())
    assert layer.nnz == 40


def test_prune_below_current_sparsity_changes_nothing() -> None:
    layer = SparseLinear(10, 10, sparsity=0.7)
    mask = layer.mask.clone()
    layer.prune(0.3)
    assert torch.equal(layer.mask, mask)


# ------------------------------------------------------------------------------------------------ export
@pytest.mark.parametrize("layout", ["csr", "coo"])
def test_to_sparse_matches_masked_weight_and_memory_bytes(layout: str) -> None:
    layer = SparseLinear(30, 20, sparsity=0.9)
    with torch.no_grad():  # an exactly-zero kept weight must still be stored (nnz is structural)
        layer.weight[layer.mask.nonzero()[0, 0], layer.mask.nonzero()[0, 1]] = 0.0
    s = layer.to_sparse(layout)
    assert s.layout == {"csr": torch.sparse_csr, "coo": torch.sparse_coo}[layout]
    torch.testing.assert_close(s.to_dense(), layer.weight.detach() * layer.mask)
    assert s._nnz() == layer.nnz == 60
    if layout == "csr":
        tensors = [s.values(), s.crow_indices(), s.col_indices()]
    else:
        tensors = [s.values(), s.indices()]
    stored = sum(t.numel() * t.element_size() for t in tensors) + layer.bias.numel() * 4
    assert layer.memory_bytes(layout) == stored
    assert layer.memory_bytes("csr") < 30 * 20 * 4  # smaller than the dense weight at 90% zeros


def test_unknown_layout_raises() -> None:
    with pytest.raises(ConfigError, match=r"unknown sparse layout 'bsr'; choose one of: csr, coo \(memory_bytes"):
        SparseLinear(4, 4).to_sparse("bsr")


# ------------------------------------------------------------------------------------------------ inference path
def test_sparse_inference_path_matches_dense_masked_path(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = SparseLinear(64, 48, sparsity=0.95).eval()
    x = torch.randn(2, 5, 64)
    with torch.no_grad():
        dense = nn.functional.linear(x, layer.weight * layer.mask, layer.bias)
        calls: list[int] = []
        real_mm = torch.sparse.mm
        monkeypatch.setattr(torch.sparse, "mm", lambda *a: calls.append(1) or real_mm(*a))
        out = layer(x)
    assert calls, "expected the torch.sparse.mm path at 95% sparsity in eval/no_grad"
    torch.testing.assert_close(out, dense)


def test_sparse_inference_threshold_counts_rounded_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    layer = SparseLinear(16, 16, sparsity=0.9, sparse_inference_min=0.9).eval()  # 230 of 256 zeros: 0.898
    assert layer.sparsity < 0.9
    calls: list[int] = []
    real_mm = torch.sparse.mm
    monkeypatch.setattr(torch.sparse, "mm", lambda *a: calls.append(1) or real_mm(*a))
    with torch.no_grad():
        layer(torch.randn(2, 16))
    assert calls


@pytest.mark.parametrize(("rows", "sparse_mm"), [(1, False), (3, False), (4, True), (64, True)])
def test_cpu_default_threshold_is_lower_for_batches(rows: int, sparse_mm: bool) -> None:
    layer = SparseLinear(100, 20, sparsity=0.9).eval()  # CSR measured faster at 90 % for >= 4 rows, slower for 1
    assert layer._use_sparse_mm(torch.randn(rows, 100)) is sparse_mm
    assert layer._use_sparse_mm(torch.randn(rows, 100)) is sparse_mm  # cached nnz gives the same answer
    assert SparseLinear(100, 20, sparsity=0.8).eval()._use_sparse_mm(torch.randn(64, 100)) is False


def test_sparse_inference_cache_follows_weight_updates() -> None:
    layer = SparseLinear(16, 8, sparsity=0.95).eval()
    x = torch.randn(3, 16)
    with torch.inference_mode():
        layer(x)
    with torch.no_grad():
        layer.weight.mul_(2.0)
        torch.testing.assert_close(layer(x), nn.functional.linear(x, layer.weight * layer.mask, layer.bias))


@pytest.mark.parametrize("mode", ["train", "grad", "low_sparsity", "disabled"])
def test_dense_path_is_used_when_sparse_mm_does_not_apply(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sparsity = 0.5 if mode == "low_sparsity" else 0.95
    layer = SparseLinear(16, 8, sparsity=sparsity, sparse_inference_min=1.0 if mode == "disabled" else None)
    layer.train(mode == "train")
    monkeypatch.setattr(torch.sparse, "mm", lambda *a: pytest.fail("sparse path used"))
    x = torch.randn(3, 16)
    if mode == "grad":
        out = layer(x)
        out.sum().backward()
        assert layer.weight.grad is not None
    else:
        with torch.no_grad():
            layer(x)


# ------------------------------------------------------------------------------------------------ persistence
def _dense_form(layer: SparseLinear) -> dict[str, torch.Tensor]:
    """The state_dict older versions saved at any sparsity: dense weight, bias, bool mask."""
    return {"weight": layer.weight.detach().clone(), "bias": layer.bias.detach().clone(), "mask": layer.mask.clone()}


def test_old_dense_checkpoint_loads_restores_mask_and_zeroes_masked_weights() -> None:
    src = SparseLinear(10, 6, sparsity=0.8)
    state = _dense_form(src)
    dst = SparseLinear(10, 6)
    state["weight"] = state["weight"] + 1.0  # dirty masked entries must not survive loading
    dst.load_state_dict(state)
    assert torch.equal(dst.mask, src.mask)
    assert bool((dst.weight[~dst.mask] == 0).all())


def test_state_dict_is_compact_from_half_sparsity_and_dense_below() -> None:
    compact = SparseLinear(16, 8, sparsity=0.5).state_dict()
    assert set(compact) == {"weight_values", "mask_bits", "bias"}
    assert compact["weight_values"].shape == (64,) and compact["mask_bits"].dtype == torch.uint8
    assert compact["mask_bits"].shape == (16,)  # 128 mask entries, 8 per byte
    assert set(SparseLinear(16, 8, sparsity=0.4).state_dict()) == {"weight", "bias", "mask"}
    live = SparseLinear(16, 8, sparsity=0.9).state_dict(keep_vars=True)  # callers that write into the parameters
    assert set(live) == {"weight", "bias", "mask"} and isinstance(live["weight"], nn.Parameter)


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.9, 0.99])
def test_save_load_round_trips_exactly(sparsity: float, tmp_path) -> None:
    src = SparseLinear(37, 11, sparsity=sparsity)  # 407 weights: the bitmask ends in a partial byte
    torch.save(src.state_dict(), tmp_path / "s.pt")
    dst = SparseLinear(37, 11)  # dense, other random weights
    dst.load_state_dict(torch.load(tmp_path / "s.pt", weights_only=True))
    assert torch.equal(dst.mask, src.mask) and torch.equal(dst.weight, src.weight) and torch.equal(dst.bias, src.bias)
    assert dst.sparsity == src.sparsity


def test_ninety_percent_sparse_file_is_under_a_quarter_of_dense_and_report_matches_it(tmp_path) -> None:
    dense = nn.Linear(1024, 1024)
    sparse = SparseLinear.from_linear(dense, 0.9)
    torch.save(dense.state_dict(), tmp_path / "dense.pt")
    torch.save(sparse.state_dict(), tmp_path / "sparse.pt")
    dense_size, sparse_size = (tmp_path / "dense.pt").stat().st_size, (tmp_path / "sparse.pt").stat().st_size
    assert sparse_size <= 0.25 * dense_size  # about 0.13x: 10 % of the values + 1 bit per weight
    assert sparse.memory_bytes() == pytest.approx(sparse_size, rel=0.02)
    assert sparse.memory_bytes() == 104858 * 4 + 1024 * 1024 // 8 + 1024 * 4


def test_pruned_model_checkpoint_loads_into_a_fresh_model(tmp_path) -> None:
    from tesla_lab.train.checkpoint import load_checkpoint, save_checkpoint

    pruned, _ = prune(nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4)), 0.9, min_features=4)
    save_checkpoint(tmp_path / "c.pt", model=pruned, epoch=1)
    fresh, _ = prune(nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4)), 0.2, min_features=4)
    load_checkpoint(tmp_path / "c.pt", model=fresh)
    x = torch.randn(5, 32)
    assert torch.equal(fresh(x), pruned(x))
    assert [m.sparsity for m in fresh if isinstance(m, SparseLinear)] == [m.sparsity for m in pruned
                                                                          if isinstance(m, SparseLinear)]


def test_compact_state_of_another_shape_or_corrupt_raises_shape_error() -> None:
    state = SparseLinear(16, 8, sparsity=0.9).state_dict()
    with pytest.raises(ShapeError, match=r"is 16 -> 4 \(64 weights, 8 mask bytes\) but the checkpoint's mask_bits has "
                                         r"16 bytes; build the layer"):
        SparseLinear(16, 4).load_state_dict(state)
    cut = dict(state, weight_values=state["weight_values"][:-1])
    with pytest.raises(ShapeError, match=r"the mask keeps 13 weights but weight_values holds 12"):
        SparseLinear(16, 8).load_state_dict(cut)
    half = {k: v for k, v in state.items() if k != "mask_bits"}
    with pytest.raises(ShapeError, match=r"has only one of weight_values/mask_bits"):
        SparseLinear(16, 8).load_state_dict(half)


def test_dense_inference_ignores_stale_values_under_the_mask() -> None:
    layer = SparseLinear(16, 8, sparsity=0.5).eval()
    x = torch.randn(3, 16)
    with torch.no_grad():
        expected = layer(x)  # clean weight: F.linear on the weight itself
        layer.weight[~layer.mask] = 7.0  # bumps the version, so the cached "clean" flag is recomputed
        torch.testing.assert_close(layer(x), expected)


def test_deepcopy_and_pickle_drop_the_inference_cache() -> None:
    layer = SparseLinear(16, 8, sparsity=0.95).eval()
    x = torch.randn(2, 16)
    with torch.no_grad():
        expected = layer(x)
    assert "csr" in layer._cache
    buf = io.BytesIO()
    torch.save(layer, buf)
    for clone in (copy.deepcopy(layer), pickle.loads(pickle.dumps(layer))):
        assert clone._cache == {}
        with torch.no_grad():
            torch.testing.assert_close(clone(x), expected)


def test_get_config_rebuilds_the_layer() -> None:
    layer = SparseLinear(6, 3, bias=False, sparsity=0.5)
    clone = SparseLinear(**layer.get_config())
    clone.load_state_dict(layer.state_dict())
    x = torch.randn(2, 6)
    torch.testing.assert_close(clone(x), layer(x))


# ------------------------------------------------------------------------------------------------ prune(model)
def _mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 2))


def test_prune_layer_scope_replaces_eligible_linears_and_reports_counts() -> None:
    model = _mlp()
    pruned, report = prune(model, 0.75)
    assert isinstance(model[0], nn.Linear), "inplace=False must leave the original model alone"
    assert [type(m).__name__ for m in pruned] == ["SparseLinear", "ReLU", "SparseLinear", "ReLU", "Linear"]
    assert report.skipped == ["4"]  # 2 outputs < min_features
    assert [r.name for r in report.layers] == ["0", "2"]
    assert [r.sparsity for r in report.layers] == [0.75, 0.75]
    assert report.layers[0].params_before == 32 * 64 + 64
    assert report.layers[0].params_after == 32 * 64 // 4 + 64
    dense_total = sum(p.numel() for p in model.parameters())
    assert report.total_before == dense_total
    assert report.total_after == dense_total - 3 * (32 * 64 + 64 * 32) // 4
    x = torch.randn(4, 32)
    assert pruned(x).shape == (4, 2)


def test_prune_global_scope_uses_one_threshold_across_layers() -> None:
    model = nn.Sequential(nn.Linear(16, 16), nn.Linear(16, 16))
    with torch.no_grad():
        model[1].weight.mul_(10.0)  # layer 1 has the large weights, so global pruning should take from layer 0
    pruned, report = prune(model, 0.5, scope="global")
    kept = torch.cat([pruned[i].weight.detach().abs()[pruned[i].mask] for i in range(2)])
    dropped = torch.cat([model[i].weight.detach().abs()[~pruned[i].mask] for i in range(2)])
    assert kept.min() >= dropped.max()
    assert (256 - pruned[0].nnz) + (256 - pruned[1].nnz) == 256  # half of all 512 weights
    assert pruned[0].sparsity > 0.9 > pruned[1].sparsity
    assert report.scope == "global"


def test_prune_inplace_and_existing_sparse_layers_are_pruned_further() -> None:
    model = nn.Sequential(SparseLinear(16, 16, sparsity=0.5), nn.Linear(16, 16))
    first = model[0]
    out, report = prune(model, 0.8, inplace=True)
    assert out is model and out[0] is first
    assert first.sparsity == pytest.approx(0.8, abs=1 / 256)
    assert report.layers[0].params_before == 128 + 16


def test_prune_top_level_linear_and_tied_layers() -> None:
    layer, _ = prune(nn.Linear(16, 16), 0.5)
    assert isinstance(layer, SparseLinear)
    shared = nn.Linear(16, 16)
    tied, report = prune(nn.Sequential(shared, nn.ReLU(), shared), 0.5)
    assert tied[0] is tied[2] and isinstance(tied[0], SparseLinear)
    assert len(report.layers) == 1


def test_prune_skips_multihead_attention_out_proj() -> None:
    model = nn.Sequential(nn.MultiheadAttention(16, 2))
    pruned, report = prune(model, 0.5)
    assert type(pruned[0].out_proj) is not SparseLinear
    assert report.layers == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sparsity": 1.5}, r"sparsity must be in \[0, 1\).*got 1\.5"),
        ({"sparsity": 0.5, "scope": "model"}, r"unknown pruning scope 'model'; choose one of: layer, global"),
        ({"sparsity": 0.5, "min_features": 0}, r"min_features must be a positive int.*got 0"),
    ],
)
def test_prune_bad_arguments_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        prune(_mlp(), **kwargs)  # type: ignore[arg-type]


def test_report_str_is_a_readable_table() -> None:
    pruned, report = prune(_mlp(), 0.5)

    def report_layers(report: PruneReport) -> list[SparseLinear]:
        return [pruned.get_submodule(row.name) for row in report.layers]

    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "shape", "params", "before", "params", "after", "sparsity"]
    assert lines[1].split()[:2] == ["0", "32x64"] and lines[1].endswith("0.500")
    assert lines[3].startswith("total") and "x fewer" in lines[3]
    assert lines[-1] == "kept dense: 4"
    assert lines[-2] == "saved bytes of the pruned layers: 16,768 -> 9,088 (0.54x)"
    assert (report.layers[0].bytes_before, report.layers[0].bytes_after) == ((2048 + 64) * 4, 1024 * 4 + 256 + 64 * 4)
    assert report.to_dict()["bytes_after"] == report.bytes_after == sum(m.memory_bytes() for m in report_layers(report))
    assert report.to_dict()["layers"][0]["compression"] == pytest.approx(report.layers[0].compression)
    assert isinstance(report, PruneReport) and isinstance(report.layers[0], LayerPruneStats)


@needs_cuda
@pytest.mark.gpu
def test_cuda_sparse_inference_matches_dense() -> None:
    layer = SparseLinear(256, 128, sparsity=0.99).cuda().eval()
    x = torch.randn(32, 256, device="cuda")
    with torch.no_grad():
        dense = nn.functional.linear(x, layer.weight * layer.mask, layer.bias)
        torch.testing.assert_close(layer(x), dense, rtol=1e-4, atol=1e-4)
    pruned, _ = prune(nn.Sequential(nn.Linear(64, 64)).cuda(), 0.9, scope="global")
    assert pruned[0].mask.is_cuda


def test_pruned_model_exports_to_torchscript_and_onnx(tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    from tesla_lab.serve.export import export_model

    pruned, _ = prune(nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 3)), 0.96, min_features=2)
    info = export_model(pruned, torch.randn(8, 16), tmp_path / "m", task="regression", formats=("torchscript", "onnx"))
    assert info.metadata["formats"]["torchscript"]["status"] == "ok"
    assert info.metadata["formats"]["onnx"]["status"] == "ok"  # checked against the eager model by onnxruntime
    traced = torch.jit.load(str(tmp_path / "m" / "model.torchscript.pt"))
    x = torch.randn(5, 16)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), pruned.eval()(x))
