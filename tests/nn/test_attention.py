"""Tests for tesla_lab.nn.attention: SparseAttention masks, math, shapes and errors."""

from __future__ import annotations

import copy
import math
import pickle

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn.attention import ATTENTION_TYPES, SparseAttention, attention_mask

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
TYPES = ["local", "block", "full"]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def reference(attn: SparseAttention, x: torch.Tensor) -> torch.Tensor:
    """Plain softmax attention with the layer's weights and mask; x (B, T, E) → (B, T, E)."""
    b, t, e = x.shape
    h, d = attn.num_heads, attn.head_dim
    q, k, v = (x @ attn.in_proj.weight.t() + attn.in_proj.bias).split(e, dim=-1)
    q, k, v = (z.reshape(b, t, h, d).transpose(1, 2) for z in (q, k, v))  # (B, H, T, D)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d)  # (B, H, T, T)
    scores = scores.masked_fill(~attn.attention_mask(t), float("-inf"))
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, e)
    return out @ attn.out_proj.weight.t() + attn.out_proj.bias


# ------------------------------------------------------------------------------------------------ math
def test_full_attention_matches_torch_multihead_attention() -> None:
    attn = SparseAttention(16, num_heads=4, attention_type="full")
    mha = nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.in_proj.weight)
        mha.in_proj_bias.copy_(attn.in_proj.bias)
        mha.out_proj.weight.copy_(attn.out_proj.weight)
        mha.out_proj.bias.copy_(attn.out_proj.bias)
    x = torch.randn(3, 7, 16)
    expected, _ = mha(x, x, x, need_weights=False)
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-5)


def test_causal_full_attention_matches_torch_multihead_attention() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="full", causal=True)
    mha = nn.MultiheadAttention(8, 2, batch_first=True)
    mha.load_state_dict(
        {
            "in_proj_weight": attn.in_proj.weight, "in_proj_bias": attn.in_proj.bias,
            "out_proj.weight": attn.out_proj.weight, "out_proj.bias": attn.out_proj.bias,
        }
    )
    x = torch.randn(2, 6, 8)
    future = torch.ones(6, 6, dtype=torch.bool).triu(1)  # True = not allowed, MHA's convention
    expected, _ = mha(x, x, x, attn_mask=future, need_weights=False)
    torch.testing.assert_close(attn(x), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", TYPES)
@pytest.mark.parametrize("causal", [False, True])
def test_sparse_types_match_reference_softmax(kind: str, causal: bool) -> None:
    attn = SparseAttention(12, num_heads=3, attention_type=kind, window=2, block_size=4, causal=causal)
    x = torch.randn(2, 11, 12)
    torch.testing.assert_close(attn(x), reference(attn, x), rtol=1e-5, atol=1e-5)


def test_window_covering_the_sequence_equals_full_attention() -> None:
    local = SparseAttention(8, num_heads=2, attention_type="local", window=10)
    full = SparseAttention(8, num_heads=2, attention_type="full")
    full.load_state_dict(local.state_dict())
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(local(x), full(x))
    assert local._mask(5, x.device) == (None, None)  # all-True band dropped so SDPA may use flash kernels


# ------------------------------------------------------------------------------------------------ sparsity pattern
def _perturbed(attn: SparseAttention, x: torch.Tensor, j: int) -> tuple[torch.Tensor, torch.Tensor]:
    y = x.clone()
    y[:, j] += 10.0 * torch.randn_like(y[:, j])
    with torch.no_grad():
        return attn(x), attn(y)


@settings(max_examples=25, deadline=None)
@given(t=st.integers(2, 16), window=st.integers(0, 4), data=st.data())
def test_local_output_ignores_tokens_outside_the_window(t: int, window: int, data: st.DataObject) -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="local", window=window)
    j = data.draw(st.integers(0, t - 1), label="perturbed token")
    before, after = _perturbed(attn, torch.randn(2, t, 8), j)
    for i in range(t):
        if abs(i - j) > window:
            torch.testing.assert_close(after[:, i], before[:, i], rtol=0, atol=1e-6)
    assert not torch.allclose(after[:, j], before[:, j])  # the token itself does change


@settings(max_examples=25, deadline=None)
@given(t=st.integers(2, 16), block=st.integers(1, 5), data=st.data())
def test_block_output_ignores_other_blocks(t: int, block: int, data: st.DataObject) -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="block", block_size=block)
    j = data.draw(st.integers(0, t - 1), label="perturbed token")
    before, after = _perturbed(attn, torch.randn(2, t, 8), j)
    for i in range(t):
        if i // block != j // block:
            torch.testing.assert_close(after[:, i], before[:, i], rtol=0, atol=1e-6)


@pytest.mark.parametrize("kind", TYPES)
def test_causal_does_not_look_ahead(kind: str) -> None:
    attn = SparseAttention(8, num_heads=2, attention_type=kind, window=3, block_size=4, causal=True)
    t, j = 10, 6
    before, after = _perturbed(attn, torch.randn(2, t, 8), j)
    torch.testing.assert_close(after[:, :j], before[:, :j], rtol=0, atol=1e-6)
    assert not torch.allclose(after[:, j], before[:, j])


def test_masks_are_cached_per_length_with_a_bounded_cache() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="local", window=1)
    cpu = torch.device("cpu")
    assert attn._mask(6, cpu) is attn._mask(6, cpu)
    for t in range(3, 20):
        attn._mask(t, cpu)
    assert len(attn._mask_cache) <= 8
    assert torch.equal(attn._mask(6, cpu)[0], attention_mask(6, "local", window=1))


@settings(max_examples=30, deadline=None)
@given(
    kind=st.sampled_from(TYPES), causal=st.booleans(), t=st.integers(1, 24),
    window=st.integers(0, 6), block=st.integers(1, 7),
)
def test_mask_density_equals_fraction_of_allowed_entries(
    kind: str, causal: bool, t: int, window: int, block: int
) -> None:
    attn = SparseAttention(4, num_heads=1, attention_type=kind, window=window, block_size=block, causal=causal)
    expected = attn.attention_mask(t).float().mean().item()
    assert attn.mask_density(t) == pytest.approx(expected)


def test_mask_density_without_length_needs_seq_len() -> None:
    assert SparseAttention(4, 1, seq_len=8, window=1).mask_density() == pytest.approx(22 / 64)
    with pytest.raises(ConfigError, match=r"mask_density needs seq_len"):
        SparseAttention(4, 1).mask_density()


# ------------------------------------------------------------------------------------------------ shapes
def test_flat_input_is_split_into_tokens_and_flattened_back() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="local", window=1)
    x = torch.randn(3, 5 * 8)
    out = attn(x)
    assert out.shape == (3, 40)
    torch.testing.assert_close(out, attn(x.view(3, 5, 8)).reshape(3, 40))


def test_flat_input_width_not_multiple_of_embed_dim_raises() -> None:
    with pytest.raises(ShapeError, match=r"2-D input of width 30.*embed_dim=8.*\(batch, seq_len, embed_dim\)"):
        SparseAttention(8, 2)(torch.randn(3, 30))


def test_fixed_seq_len_checks_flat_and_3d_input() -> None:
    attn = SparseAttention(8, 2, seq_len=4)
    assert attn(torch.randn(2, 32)).shape == (2, 32)
    with pytest.raises(ShapeError, match=r"expects flat input of width seq_len \* embed_dim = 32; got shape \(2, 16\)"):
        attn(torch.randn(2, 16))
    with pytest.raises(ShapeError, match=r"built for seq_len=4; got input of shape \(2, 3, 8\)"):
        attn(torch.randn(2, 3, 8))


@pytest.mark.parametrize("shape", [(8,), (2, 3, 4, 8)])
def test_other_ranks_raise_shape_error(shape: tuple[int, ...]) -> None:
    with pytest.raises(ShapeError, match=rf"expects \(batch, seq_len, embed_dim=8\).*got a {len(shape)}-D tensor"):
        SparseAttention(8, 2)(torch.randn(*shape))


def test_wrong_embed_dim_raises_shape_error() -> None:
    with pytest.raises(ShapeError, match=r"embed_dim=8\); got shape \(2, 3, 6\)"):
        SparseAttention(8, 2)(torch.randn(2, 3, 6))


# ------------------------------------------------------------------------------------------------ config errors
def test_embed_dim_not_divisible_by_heads_raises() -> None:
    with pytest.raises(ConfigError, match=r"embed_dim must be divisible by num_heads.*embed_dim=10, num_heads=4.*"
                                          r"\[1, 2, 5, 10\]"):
        SparseAttention(10, num_heads=4)


def test_unknown_attention_type_names_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"unknown attention_type 'lokal' \(did you mean 'local'\?\); "
                                          r"choose one of: .*block.*full.*local"):
        SparseAttention(8, 2, attention_type="lokal")
    assert {"local", "block", "full"} <= set(ATTENTION_TYPES.names())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": -1}, r"window must be an int >= 0; got -1"),
        ({"block_size": 0}, r"block_size must be an int >= 1; got 0"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\).*got 1\.0"),
        ({"seq_len": 0}, r"seq_len must be an int >= 1; got 0"),
        ({"num_heads": 0}, r"num_heads must be an int >= 1; got 0"),
    ],
)
def test_bad_options_raise_config_error(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        SparseAttention(8, **kwargs)  # type: ignore[arg-type]


def test_alias_names_resolve_to_canonical_type() -> None:
    assert SparseAttention(8, 2, attention_type="Sliding-Window").attention_type == "local"
    assert SparseAttention(8, 2, attention_type="dense").attention_type == "full"


# ------------------------------------------------------------------------------------------------ training
def test_gradients_flow_to_every_parameter_and_the_input() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="block", block_size=2, causal=True)
    x = torch.randn(2, 6, 8, requires_grad=True)
    attn(x).pow(2).sum().backward()
    assert x.grad is not None and bool(x.grad.abs().sum() > 0)
    for name, p in attn.named_parameters():
        assert p.grad is not None and bool(p.grad.abs().sum() > 0), name


def test_dropout_only_in_training_mode() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="full", dropout=0.5)
    x = torch.randn(2, 6, 8)
    assert not torch.allclose(attn(x), attn(x))
    attn.eval()
    torch.testing.assert_close(attn(x), attn(x))


def test_num_params_config_and_copies() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="block", block_size=3, bias=False)
    assert attn.num_params == 4 * 8 * 8
    assert "attention_type='block', block_size=3" in repr(attn)
    x = torch.randn(1, 7, 8)
    attn(x)
    clone = SparseAttention(**attn.get_config())  # type: ignore[arg-type]
    clone.load_state_dict(attn.state_dict())
    for other in (clone, copy.deepcopy(attn), pickle.loads(pickle.dumps(attn))):
        torch.testing.assert_close(other(x), attn(x))


@needs_cuda
@pytest.mark.gpu
@pytest.mark.parametrize("kind", TYPES)
def test_cuda_half_precision_matches_reference(kind: str) -> None:
    attn = SparseAttention(64, num_heads=4, attention_type=kind, window=8, block_size=16, causal=True)
    x = torch.randn(2, 100, 64)
    expected = reference(attn, x)
    gpu = attn.to("cuda", torch.float16)
    out = gpu(x.to("cuda", torch.float16)).float().cpu()
    torch.testing.assert_close(out, expected, rtol=2e-2, atol=2e-2)
    assert next(iter(gpu._mask_cache))[1].type == "cuda"


# ------------------------------------------------------------------------------------------------ block-sparse path
def _grads(out: torch.Tensor, inputs: list[torch.Tensor], seed: int = 1) -> list[torch.Tensor]:
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    return list(torch.autograd.grad(out, inputs, g))


@pytest.mark.parametrize(("kind", "t", "causal"), [
    ("local", 1024, False),  # window 15: 3 % of the (T, T) scores, the benchmark's case
    ("local", 250, True),  # T not a multiple of the tile: padded queries must not leak NaN into gradients
    ("block", 256, False),
    ("block", 200, True),
])
def test_block_sparse_path_equals_dense_masked_attention_with_gradients(kind: str, t: int, causal: bool) -> None:
    attn = SparseAttention(16, num_heads=2, attention_type=kind, window=15, block_size=16, causal=causal)
    assert attn._mask(t, torch.device("cpu"))[1] is not None  # this case takes the block-sparse path
    x = torch.randn(2, t, 16, requires_grad=True)
    params = [x, attn.in_proj.weight, attn.in_proj.bias, attn.out_proj.weight]
    out, expected = attn(x), reference(attn, x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(_grads(out, params), _grads(expected, params)):
        assert bool(torch.isfinite(got).all())
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_wide_masks_stay_on_the_dense_path() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="local", window=100)
    mask, layout = attn._mask(256, torch.device("cpu"))
    assert mask is not None and layout is None  # ~70 % of the pairs: dense SDPA is cheaper


@settings(max_examples=20, deadline=None)
@given(t=st.integers(1, 70), density=st.floats(0.02, 0.6), block=st.sampled_from([4, 8, 16]), seed=st.integers(0, 99))
def test_block_sparse_attention_equals_sdpa_for_any_mask(t: int, density: float, block: int, seed: int) -> None:
    from tesla_lab.nn.block_sparse import block_layout, block_sparse_attention

    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(t, t, generator=gen) < density
    mask |= torch.eye(t, dtype=torch.bool)  # every query attends to something
    q, k, v = (torch.randn(2, 3, t, 8, generator=gen, dtype=torch.float64, requires_grad=True) for _ in range(3))
    out = block_sparse_attention(q, k, v, block_layout(mask, block))
    expected = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, expected)
    for got, want in zip(_grads(out, [q, k, v]), _grads(expected, [q, k, v])):
        torch.testing.assert_close(got, want)


def test_block_layout_lists_only_the_tiles_the_mask_touches() -> None:
    from tesla_lab.nn.block_sparse import block_layout, choose_block

    mask = attention_mask(64, "block", block_size=16)
    layout = block_layout(mask, 16)
    assert layout.key_blocks.tolist() == [[0], [1], [2], [3]]
    assert layout.density == 0.25 and bool(layout.mask.all())
    assert choose_block(attention_mask(1024, "local", window=15)).block == 16


def test_sparse_is_an_alias_of_block_sparse_attention() -> None:
    attn = SparseAttention(8, num_heads=2, attention_type="sparse", block_size=2)  # the TESLA documents' name
    assert attn.attention_type == "block"
    assert torch.equal(attn.attention_mask(6), attention_mask(6, "block", block_size=2))


def test_dropout_on_the_block_sparse_path_trains_and_eval_is_exact() -> None:
    attn = SparseAttention(16, num_heads=2, attention_type="local", window=3, dropout=0.5)
    x = torch.randn(2, 128, 16)
    train_out = attn(x)
    assert train_out.shape == (2, 128, 16) and not torch.allclose(train_out, reference(attn, x))
    attn.eval()
    torch.testing.assert_close(attn(x), reference(attn, x), rtol=1e-5, atol=1e-5)


@needs_cuda
@pytest.mark.gpu
def test_cuda_block_sparse_path_matches_reference() -> None:
    attn = SparseAttention(32, num_heads=2, attention_type="local", window=15)
    x = torch.randn(2, 512, 32)
    expected = reference(attn, x)
    gpu = attn.to("cuda")
    assert gpu._mask(512, torch.device("cuda"))[1] is not None
    torch.testing.assert_close(gpu(x.to("cuda")).cpu(), expected, rtol=1e-4, atol=1e-4)
