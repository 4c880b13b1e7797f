"""Tracing: TT layers export with a fixed path, the trace follows any batch size, bad traces are refused."""

import pytest
import torch

import tesla_lab as tesla
from tesla_lab.errors import ConfigError
from tesla_lab.nn import TTLinear
from tesla_lab.serve.trace import ExportError, trace_model


def _tt_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(TTLinear(64, 32, rank=4), torch.nn.ReLU(), TTLinear(32, 10, rank=3))


@pytest.mark.parametrize("tt_path", ["auto", "factorized", "dense"])
def test_traced_tt_model_matches_eager_at_every_batch_size(tt_path):
    model = _tt_model()
    traced, _, layers = trace_model(model, torch.randn(4, 64), tt_path=tt_path)
    assert len(layers) == 2 and all(layer["path"] in ("factorized", "dense") for layer in layers)
    if tt_path != "auto":
        assert {layer["path"] for layer in layers} == {tt_path}
    for batch in (1, 3, 17, 300):
        x = torch.randn(batch, 64)
        with torch.no_grad():
            torch.testing.assert_close(traced(x), model(x), rtol=1e-4, atol=1e-5)


def test_traced_tt_layer_handles_extra_leading_dims():
    layer = TTLinear(16, 8, rank=2)
    traced, _, _ = trace_model(layer, torch.randn(2, 3, 16), tt_path="factorized")
    x = torch.randn(5, 7, 16)
    with torch.no_grad():
        torch.testing.assert_close(traced(x), layer(x), rtol=1e-4, atol=1e-5)


def test_trace_keeps_compressed_cores_not_a_dense_weight():
    model = _tt_model()
    traced, _, _ = trace_model(model, torch.randn(4, 64), tt_path="dense")
    names = {name for name, _ in traced.named_parameters()}
    assert any("cores" in n for n in names)
    assert sum(p.numel() for p in traced.parameters()) == sum(p.numel() for p in model.parameters())


def test_trace_restores_tt_paths_and_training_mode():
    model = _tt_model().train()
    model[2].path = "factorized"
    model[0](torch.randn(1, 64))  # a remembered auto choice
    trace_model(model, torch.randn(4, 64), tt_path="dense")
    assert isinstance(model[0], TTLinear) and isinstance(model[2], TTLinear)
    assert (model[0].path, model[2].path) == ("auto", "factorized")
    assert model.training


def test_path_pinned_by_the_layer_is_traced_and_recorded():
    model = _tt_model()
    model[0].path = "dense"
    traced, _, layers = trace_model(model, torch.randn(1, 64))  # auto alone would take the factorized path here
    assert [(layer["layer"], layer["path"]) for layer in layers] == [("0", "dense"), ("2", "factorized")]
    assert "aten::linear" in str(getattr(traced, "0").graph)
    assert "aten::linear" not in str(getattr(traced, "2").graph)


def test_uncompiled_tensor_network_traces():
    model = tesla.TensorNetwork(input_dim=16, hidden_dim=16, output_dim=4, tt_rank=2)  # not compiled
    traced, out, layers = trace_model(model, torch.randn(5, 16))
    assert out.shape == (5, 4) and layers[0]["layer"] == "body.0.0"


def test_batch_dependent_python_branch_is_refused():
    class Branchy(torch.nn.Module):
        def forward(self, x):
            return x * 2 if len(x) < 5 else x

    with pytest.raises(ExportError, match="does not reproduce the eager model for a batch of 5"):
        trace_model(Branchy(), torch.ones(2, 3))


def test_non_tensor_output_is_refused():
    class TwoOutputs(torch.nn.Module):
        def forward(self, x):
            return x, x

    with pytest.raises(ExportError, match="must return one tensor"):
        trace_model(TwoOutputs(), torch.ones(2, 3))


def test_untraceable_model_is_refused():
    class Untraceable(torch.nn.Module):
        def forward(self, x):
            if torch.jit.is_tracing():
                raise RuntimeError("cannot trace this")
            return x

    with pytest.raises(ExportError, match="torch.jit.trace failed on this model: cannot trace this"):
        trace_model(Untraceable(), torch.ones(2, 3))


def test_unknown_tt_path_is_refused():
    with pytest.raises(ConfigError, match="tt_path must be one of: auto, factorized, dense; got 'fast'"):
        trace_model(_tt_model(), torch.randn(2, 64), tt_path="fast")
