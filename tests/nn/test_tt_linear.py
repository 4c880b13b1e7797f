import io
import math
import warnings

import pytest
import torch
from torch import nn

from tesla_lab.errors import ConfigError, FactorizationError, ShapeError
from tesla_lab.nn.tt_linear import TTLinear


def test_forward_accepts_any_leading_batch_dims():
    layer = TTLinear(64, 32, rank=4)
    assert layer(torch.randn(2, 3, 64)).shape == (2, 3, 32)
    assert layer(torch.randn(64)).shape == (32,)
    assert layer(torch.randn(0, 64)).shape == (0, 32)


@pytest.mark.parametrize("path", ["auto", "factorized", "dense"])
def test_every_path_equals_x_times_rebuilt_weight_plus_bias(path):
    torch.manual_seed(0)
    layer = TTLinear(48, 60, rank=3, path=path, dtype=torch.float64)
    x = torch.randn(5, 48, dtype=torch.float64)
    assert torch.allclose(layer(x), x @ layer.weight.T + layer.bias)


def test_auto_path_is_chosen_per_batch_size_and_cached():
    layer = TTLinear(256, 256, rank=4)
    layer(torch.randn(1, 256))
    layer(torch.randn(512, 256))
    assert layer.plans == {1: "factorized/3", 512: "dense"}
    layer.path = "dense"
    assert layer.plans == {}
    assert "path='dense'" in repr(layer)


def test_unknown_path_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown TTLinear path 'fastest'; choose one of: auto, factorized, dense"):
        TTLinear(64, 64, path="fastest")


@pytest.mark.parametrize(
    ("in_f", "out_f", "rank"), [(64, 64, 4), (784, 256, 8), (1024, 1024, 16), (256, 512, [4, 6])]
)
def test_rebuilt_weight_has_the_std_of_nn_linear(in_f, out_f, rank):
    # tensorly-torch's TT init leaves W ~200x too small; ours must match nn.Linear's 1/sqrt(3 in_features)
    target = nn.Linear(in_f, out_f).weight.std().item()
    assert target == pytest.approx(1 / math.sqrt(3 * in_f), rel=0.05)
    stds = []
    for seed in range(4):
        torch.manual_seed(seed)
        with torch.no_grad():
            stds.append(TTLinear(in_f, out_f, rank=rank).weight.std().item())
    assert sum(stds) / len(stds) == pytest.approx(target, rel=0.15)


def test_bias_init_matches_nn_linear_bounds():
    layer = TTLinear(100, 64, rank=4)
    assert layer.bias.abs().max() <= 1 / math.sqrt(100)
    assert TTLinear(100, 64, bias=False).bias is None


@pytest.mark.parametrize("path", ["factorized", "dense"])
def test_gradcheck_in_float64_on_a_tiny_layer(path):
    torch.manual_seed(0)
    layer = TTLinear(12, 8, rank=2, in_shape=(2, 3, 2), out_shape=(2, 2, 2), path=path, dtype=torch.float64)
    x = torch.randn(3, 12, dtype=torch.float64, requires_grad=True)
    params = tuple(layer.parameters())

    def fn(x, *ps):
        out = torch.func.functional_call(layer, dict(zip([n for n, _ in layer.named_parameters()], ps)), (x,))
        return out

    assert torch.autograd.gradcheck(fn, (x, *params))


def test_gradients_reach_every_core():
    layer = TTLinear(64, 64, rank=4)
    layer(torch.randn(8, 64)).square().sum().backward()
    assert all(c.grad is not None and c.grad.abs().sum() > 0 for c in layer.cores)
    assert layer.bias.grad is not None


def test_properties_count_cores_and_bias():
    layer = TTLinear(64, 32, rank=4, in_shape=(8, 8), out_shape=(4, 8))
    assert layer.ranks == (1, 4, 1)
    assert layer.num_params == 4 * 8 * 4 + 4 * 8 * 8 + 32
    assert layer.dense_params == 64 * 32 + 32
    assert layer.compression_ratio == pytest.approx(layer.dense_params / layer.num_params)
    assert repr(layer).startswith("TTLinear(in_features=64, out_features=32, in_shape=(8, 8), out_shape=(4, 8)")
    assert layer.to_tt_matrix().shape == (32, 64)


def test_ranks_above_the_useful_maximum_are_clamped():
    layer = TTLinear(16, 16, rank=100, in_shape=(4, 4), out_shape=(4, 4))
    assert layer.ranks == (1, 16, 1)


def test_rank_list_sets_each_cut():
    layer = TTLinear(1024, 1024, rank=[2, 3, 4], in_shape=(8, 4, 4, 8), out_shape=(8, 4, 4, 8))
    assert layer.ranks == (1, 2, 3, 4, 1)


def test_one_given_shape_fixes_the_number_of_modes_of_the_other():
    layer = TTLinear(784, 64, in_shape=(28, 28))
    assert len(layer.out_shape) == 2 and math.prod(layer.out_shape) == 64
    layer = TTLinear(784, 64, out_shape=(4, 4, 4))
    assert len(layer.in_shape) == 3 and math.prod(layer.in_shape) == 784


def test_config_round_trip_rebuilds_the_same_parameter_shapes():
    layer = TTLinear(784, 256, rank=8)
    again = TTLinear(layer.in_features, layer.out_features, rank=list(layer.ranks[1:-1]), in_shape=layer.in_shape,
                     out_shape=layer.out_shape, bias=layer.bias is not None)
    again.load_state_dict(layer.state_dict())
    x = torch.randn(3, 784)
    assert torch.equal(again(x), layer(x))


@pytest.mark.parametrize("rank", [0, -2, 1.5, True])
def test_rank_below_one_is_a_config_error(rank):
    with pytest.raises(ConfigError, match=r"TT ranks must be integers >= 1; got rank="):
        TTLinear(64, 64, rank=rank)


def test_rank_list_of_wrong_length_is_a_config_error():
    with pytest.raises(ConfigError, match=r"rank as a list needs one rank per cut .* 1 entries .*got 2"):
        TTLinear(64, 64, rank=[4, 4], in_shape=(8, 8), out_shape=(8, 8))


@pytest.mark.parametrize("bad", [0, -1, 2.0])
def test_non_positive_features_are_a_config_error(bad):
    with pytest.raises(ConfigError, match="in_features must be a positive integer"):
        TTLinear(bad, 8)


def test_prime_features_without_shapes_are_a_factorization_error():
    with pytest.raises(FactorizationError, match="in_features=13 is prime"):
        TTLinear(13, 64)


def test_wrong_shape_product_is_a_factorization_error():
    with pytest.raises(FactorizationError, match=r"in_shape \(4, 7, 4, 8\) multiplies to 896 but in_features is 784"):
        TTLinear(784, 256, in_shape=(4, 7, 4, 8), out_shape=(4, 4, 4, 4))


def test_shapes_of_different_lengths_are_a_shape_error():
    with pytest.raises(ShapeError, match="must have the same number of modes"):
        TTLinear(64, 64, in_shape=(8, 8), out_shape=(4, 4, 4))


def test_wrong_input_width_names_got_and_expected():
    with pytest.raises(ShapeError, match=r"last dimension in_features=64; got shape \(5, 32\)"):
        TTLinear(64, 16)(torch.randn(5, 32))


def test_from_linear_at_full_rank_reproduces_the_layer():
    torch.manual_seed(0)
    linear = nn.Linear(64, 48, dtype=torch.float64)
    tt = TTLinear.from_linear(linear)
    x = torch.randn(10, 64, dtype=torch.float64)
    assert tt.cores[0].dtype == torch.float64
    assert torch.allclose(tt(x), linear(x), atol=1e-10)
    assert torch.allclose(tt.bias, linear.bias)


def test_from_linear_error_decreases_as_rank_grows():
    torch.manual_seed(0)
    linear = nn.Linear(256, 256, bias=False)
    x = torch.randn(64, 256)
    errors = [(TTLinear.from_linear(linear, rank=r)(x) - linear(x)).norm().item() for r in (1, 4, 16, 64)]
    assert errors == sorted(errors, reverse=True) and errors[-1] < errors[0]
    assert TTLinear.from_linear(linear, rank=4).bias is None


def test_from_linear_with_tol_bounds_the_weight_error():
    linear = nn.Linear(64, 64)
    tt = TTLinear.from_linear(linear, tol=0.3, in_shape=(4, 4, 4), out_shape=(4, 4, 4))
    assert tt.to_tt_matrix().relative_error(linear.weight.detach()) <= 0.3 + 1e-6
    assert tt.in_shape == (4, 4, 4)


def test_from_linear_float32_keeps_max_rank_and_float64_accuracy():
    # a smooth weight: singular values decay fast, so float32 round-off used to cut the last rank (8 -> 6)
    i = torch.arange(256, dtype=torch.float64)[:, None] / 256
    j = torch.arange(256, dtype=torch.float64)[None, :] / 256
    w = 1.0 / (0.05 + i + j + 0.3 * torch.sin(7 * i * j))
    shapes = {"in_shape": (4, 4, 4, 4), "out_shape": (4, 4, 4, 4)}
    lin32, lin64 = nn.Linear(256, 256), nn.Linear(256, 256, dtype=torch.float64)
    with torch.no_grad():
        lin32.weight.copy_(w)
        lin64.weight.copy_(w)
    tt32 = TTLinear.from_linear(lin32, rank=8, **shapes)
    tt64 = TTLinear.from_linear(lin64, rank=8, **shapes)
    assert tt32.ranks == tt64.ranks == (1, 8, 8, 8, 1)
    err32 = tt32.to_tt_matrix().relative_error(w.float())
    err64 = tt64.to_tt_matrix().relative_error(w)
    assert err32 <= 1.2 * err64


def test_from_linear_needs_an_nn_linear():
    with pytest.raises(ConfigError, match="from_linear needs a torch.nn.Linear; got Conv1d"):
        TTLinear.from_linear(nn.Conv1d(4, 4, 1))


def test_weight_is_cached_without_autograd_and_refreshed_after_an_update():
    layer = TTLinear(64, 64, rank=4)
    with torch.no_grad():
        w1 = layer.weight
        assert layer.weight is w1
        layer.cores[0].mul_(2)
        w2 = layer.weight
    assert w2 is not w1 and torch.allclose(w2, 2 * w1)
    assert layer.weight.requires_grad  # with autograd on, the rebuilt weight stays differentiable


def test_works_under_inference_mode_even_when_created_there():
    layer = TTLinear(64, 64, rank=4)
    x = torch.randn(600, 64)
    with torch.inference_mode():
        assert torch.allclose(layer(x), x @ layer.weight.T + layer.bias, atol=1e-5)
        inner = TTLinear(64, 64, rank=4)
        assert inner(x).shape == (600, 64) and inner.plans == {600: "dense"}
    layer.requires_grad_(False)  # frozen layer, input needs grad: the inference-mode W must not be reused
    x.requires_grad_(True)
    layer(x).sum().backward()
    assert x.grad is not None


def test_runs_under_cpu_autocast():
    layer = TTLinear(64, 64, rank=4)
    x = torch.randn(4, 64)
    for path in ("factorized", "dense"):
        layer.path = path
        with torch.autocast("cpu", dtype=torch.bfloat16):
            y = layer(x)
        y.float().sum().backward()
        assert y.dtype == torch.bfloat16


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_forward_matches_cpu():
    torch.manual_seed(0)
    layer = TTLinear(256, 256, rank=8)
    x = torch.randn(64, 256)
    ref = layer(x)
    gpu = layer.to("cuda")
    for path in ("factorized", "dense"):
        gpu.path = path
        assert torch.allclose(gpu(x.cuda()).cpu(), ref, atol=1e-4)


@pytest.mark.parametrize("path", ["auto", "dense"])  # auto at batch 4 takes the factorized path
def test_compiles_as_one_graph(path):
    layer = TTLinear(64, 64, rank=4, path=path)
    x = torch.randn(4, 64)
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=True)  # fullgraph: a graph break raises
    y = compiled(x)
    y.sum().backward()
    assert torch.allclose(y, layer(x), atol=1e-5)
    assert all(c.grad is not None for c in layer.cores)


def _trace(module, example, grad=True):
    with warnings.catch_warnings(), torch.set_grad_enabled(grad):
        warnings.simplefilter("ignore")  # TracerWarnings where the cores' sizes are read: constants of the layer
        return torch.jit.trace(module, example)


@pytest.mark.parametrize("path", ["factorized", "dense"])
def test_trace_at_one_batch_size_matches_eager_at_any_other(path):
    torch.manual_seed(0)
    layer = TTLinear(64, 32, rank=4, path=path).eval()
    traced = _trace(layer, torch.randn(4, 64))
    for batch in (1, 7, 300):
        x = torch.randn(batch, 64)
        with torch.no_grad():
            torch.testing.assert_close(traced(x), layer(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("path", ["factorized", "dense"])
def test_trace_with_extra_leading_dims_follows_their_sizes(path):
    layer = TTLinear(16, 8, rank=2, path=path)
    traced = _trace(layer, torch.randn(2, 3, 16))
    x = torch.randn(5, 7, 16)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), layer(x), rtol=1e-4, atol=1e-5)


def test_auto_path_traces_the_choice_for_the_example_batch_size():
    layer = TTLinear(256, 256, rank=4)  # auto: factorized at batch 1, dense at batch 512
    small, large = _trace(layer, torch.randn(1, 256)), _trace(layer, torch.randn(512, 256))
    assert "aten::linear" not in str(small.graph) and "aten::linear" in str(large.graph)
    x = torch.randn(600, 256)
    with torch.no_grad():
        torch.testing.assert_close(small(x), layer(x), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(large(x[:2]), layer(x[:2]), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("path", ["factorized", "dense"])
def test_trace_rebuilds_from_the_cores_and_never_holds_the_cached_weight(path):
    layer = TTLinear(64, 32, rank=4, path=path).eval()
    with torch.no_grad():
        layer(torch.randn(600, 64))  # fills the weight cache
    first, second = _trace(layer, torch.randn(4, 64), grad=False), _trace(layer, torch.randn(4, 64), grad=False)
    assert first.code == second.code
    with torch.no_grad():
        layer.cores[0].mul_(2)  # the traced module shares the cores: it must see the update
        x = torch.randn(3, 64)
        torch.testing.assert_close(first(x), layer(x), rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:`torch.jit.(save|load)` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("path", ["factorized", "dense"])
def test_traced_layer_saves_and_loads_as_torchscript(path):
    layer = TTLinear(64, 32, rank=4, path=path)
    buffer = io.BytesIO()
    torch.jit.save(_trace(layer, torch.randn(4, 64)), buffer)  # no Python call (autograd.Function) in the graph
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    x = torch.randn(9, 64)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), layer(x), rtol=1e-4, atol=1e-5)


def test_factorized_inference_caches_the_core_matrices_until_a_core_changes():
    torch.manual_seed(0)
    layer = TTLinear(64, 64, rank=4, path="factorized", dtype=torch.float64)
    x = torch.randn(3, 64, dtype=torch.float64)
    with torch.no_grad():
        y1 = layer(x)
        (name, (_, mats)), = layer._caches.items()
        assert name[0] == "mats"
        layer(x)
        assert layer._caches[name][1] is mats  # reused, not rebuilt
        layer.cores[0].mul_(2)
        y2 = layer(x)
    assert layer._caches[name][1] is not mats
    torch.testing.assert_close(y2 - layer.bias, 2 * (y1 - layer.bias))
    y3 = layer(x)  # autograd on: built from the cores, differentiable
    y3.sum().backward()
    assert layer.cores[0].grad is not None
