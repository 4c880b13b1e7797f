"""Mixed precision: name resolution, bf16 autocast on CPU, fp16 with GradScaler, unsupported combinations."""

from __future__ import annotations

import math

import pytest
import torch

import tesla_lab.train.precision as precision_mod
from tesla_lab.errors import ConfigError
from tesla_lab.train import Callback, Trainer
from tesla_lab.train.precision import resolve_precision

CPU = torch.device("cpu")


def data(n: int = 64):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=g)
    return X, (X[:, 0] + X[:, 2] > 0).long()


class DtypeProbe(torch.nn.Module):
    """A linear classifier that records the dtype its forward pass ran in while training."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(4, 2)
        self.seen: set[torch.dtype] = set()

    def forward(self, x):
        out = self.fc(x)
        if self.training:
            self.seen.add(out.dtype)
        return out


@pytest.mark.parametrize(
    "name, expected",
    [("fp32", "fp32"), ("float32", "fp32"), ("32", "fp32"), ("BF16", "bf16"), ("bfloat16", "bf16"),
     ("bf16-mixed", "bf16"), ("fp16", "fp16"), ("float16", "fp16"), ("half", "fp16"), ("16-mixed", "fp16"),
     ("mixed", "bf16")],
)
def test_precision_names_and_aliases_resolve_on_cpu(name, expected):
    p = resolve_precision(name, CPU)
    assert p.name == expected and p.device_type == "cpu"
    assert (p.autocast() is None) == (expected == "fp32")
    assert p.needs_scaler == (expected == "fp16")


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ConfigError, match=r"unknown precision 'int8'; choose one of: fp32, bf16, fp16, mixed"):
        resolve_precision("int8", CPU)
    with pytest.raises(ConfigError, match="unknown precision 'fp64'"):
        Trainer(precision="fp64")


def test_bf16_autocast_trains_on_cpu_with_fp32_weights():
    model = DtypeProbe()
    h = Trainer(device="cpu", precision="bf16", seed=0).fit(model, *data(), loss_fn="cross_entropy", epochs=8,
                                                            lr=0.05, batch_size=16)
    assert model.seen == {torch.bfloat16}
    assert model.fc.weight.dtype == torch.float32
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_fp32_runs_without_autocast():
    model = DtypeProbe()
    Trainer(device="cpu").fit(model, *data(), loss_fn="cross_entropy", epochs=1)
    assert model.seen == {torch.float32}


def test_fp16_uses_a_grad_scaler_on_cpu():
    if not precision_mod._autocast_works("cpu", torch.float16):
        pytest.skip("this PyTorch has no fp16 autocast on CPU")
    model = DtypeProbe()
    trainer = Trainer(device="cpu", precision="fp16", seed=0)
    h = trainer.fit(model, *data(), loss_fn="cross_entropy", epochs=8, lr=0.05, batch_size=16)
    assert isinstance(trainer.scaler, torch.amp.GradScaler)
    assert trainer.scaler._scale is not None  # the scaler was used by the steps
    assert model.seen == {torch.float16} and model.fc.weight.dtype == torch.float32
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_fp16_unscales_before_clipping():
    if not precision_mod._autocast_works("cpu", torch.float16):
        pytest.skip("this PyTorch has no fp16 autocast on CPU")
    norms = []

    class Norm(Callback):
        def on_batch_end(self, trainer, step, logs):
            g = torch.cat([p.grad.flatten() for p in trainer.model.parameters()])
            norms.append(float(g.float().norm()))

    torch.manual_seed(0)
    X = torch.randn(32, 4)
    y = 10 * torch.randn(32)  # gradient norm ~10-30, far above the clip
    Trainer(device="cpu", precision="fp16", grad_clip=1.0, callbacks=[Norm()]).fit(
        torch.nn.Linear(4, 1), X, y, loss_fn="mse", optimizer="sgd", lr=1e-6, batch_size=8, epochs=3)
    # the first steps overflow in fp16 (the scaler skips them and lowers its scale); on the others the clipped TRUE
    # gradients have norm ~1, while clipping the scaled ones would leave ~1/scale once the step unscales them
    finite = [n for n in norms if math.isfinite(n)]
    assert len(finite) >= 6
    assert all(0.5 < n <= 1.0 + 1e-3 for n in finite)


def test_unsupported_autocast_dtype_is_config_error(monkeypatch):
    monkeypatch.setattr(precision_mod, "_autocast_works", lambda device_type, dtype: False)
    with pytest.raises(ConfigError, match=r"precision 'fp16' .* is not supported on device type 'cpu'.*use "
                                          r"precision='bf16' or 'fp32' on CPU"):
        resolve_precision("fp16", CPU)


def test_mixed_falls_back_to_fp16_without_bf16(monkeypatch):
    real = precision_mod._autocast_works
    monkeypatch.setattr(precision_mod, "_autocast_works", lambda d, dtype: dtype != torch.bfloat16 and real(d, dtype))
    if not real("cpu", torch.float16):
        pytest.skip("this PyTorch has no fp16 autocast on CPU")
    assert resolve_precision("mixed", CPU).name == "fp16"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", ["bf16", "fp16", "mixed"])
def test_cuda_autocast_runs_in_reduced_precision(name):
    model = DtypeProbe()
    trainer = Trainer(device="cuda", precision=name, seed=0)
    trainer.fit(model, *data(), loss_fn="cross_entropy", epochs=2)
    assert model.seen <= {torch.bfloat16, torch.float16} and model.fc.weight.dtype == torch.float32
    assert (trainer.scaler is not None) == (trainer._precision.name == "fp16")
