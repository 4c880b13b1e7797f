import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.nn import Checkpointed, MixedPrecision


def test_checkpointed_gives_the_same_gradients_as_the_plain_layer():
    torch.manual_seed(0)
    inner = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    x = torch.randn(5, 6)
    inner(x).sum().backward()
    ref = [p.grad.clone() for p in inner.parameters()]
    inner.zero_grad()
    Checkpointed(inner)(x).sum().backward()
    for g, r in zip([p.grad for p in inner.parameters()], ref):
        assert torch.allclose(g, r, atol=1e-6)


def test_checkpointed_recomputes_forward_during_backward():
    calls = []

    class Counting(torch.nn.Linear):
        def forward(self, x):
            calls.append(1)
            return super().forward(x)

    layer = Checkpointed(Counting(3, 3))
    layer(torch.randn(2, 3, requires_grad=True)).sum().backward()
    assert len(calls) == 2  # once forward, once recomputed in backward
    layer.eval()
    calls.clear()
    layer(torch.randn(2, 3))
    assert len(calls) == 1


def test_mixed_precision_computes_in_bf16_and_returns_input_dtype():
    seen = []
    inner = torch.nn.Linear(4, 4)
    inner.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
    out = MixedPrecision(inner)(torch.randn(2, 4))
    assert seen == [torch.bfloat16]
    assert out.dtype == torch.float32


def test_mixed_precision_rejects_unknown_dtype():
    with pytest.raises(ConfigError, match="mixed precision dtype must be one of .*got 'int8'"):
        MixedPrecision(torch.nn.Identity(), dtype="int8")
