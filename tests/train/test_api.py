"""The one-call API: train / evaluate / predict, option routing, automatic metrics, package exports."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import tesla_lab.train as tt
from tesla_lab.errors import ConfigError
from tesla_lab.train import History, evaluate, predict, train


def data(n: int = 64):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, generator=g)
    return X, (X[:, 0] > 0).long()


def clf():
    torch.manual_seed(0)
    return torch.nn.Linear(3, 2)


def test_train_positional_signature_learns_and_returns_history():
    X, y = data()
    model = clf()
    h = train(model, X, y, "adam", "cross_entropy", 20, lr=0.1, seed=0, device="cpu", metrics=["accuracy"])
    assert isinstance(h, History) and h.epoch == list(range(20))
    assert h.history["accuracy"][-1] > 0.9


def test_train_routes_trainer_and_fit_options():
    X, y = data()
    a, b = clf(), clf()
    train(a, X, y, "sgd", "cross_entropy", 2, seed=1, batch_size=8, device="cpu", grad_clip=0.1)
    tt.Trainer(seed=1, device="cpu", grad_clip=0.1).fit(b, X, y, optimizer="sgd", loss_fn="cross_entropy", epochs=2,
                                                        batch_size=8)
    assert torch.equal(a.weight, b.weight)


def test_unknown_keyword_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"unknown option\(s\) 'epoch' for train\(\); choose from: batch_size"):
        train(clf(), *data(), epoch=3)
    with pytest.raises(ConfigError, match=r"unknown option\(s\) 'lr' for evaluate\(\)"):
        evaluate(clf(), *data(), lr=0.1)


def test_evaluate_auto_metrics_follow_the_task():
    X, y = data()
    assert set(evaluate(clf(), X, y, device="cpu")) == {"accuracy"}  # integer labels, no loss
    assert set(evaluate(clf(), X, y, loss_fn="cross_entropy", device="cpu")) == {"loss", "accuracy"}
    reg = torch.nn.Linear(3, 1)
    assert set(evaluate(reg, X, X[:, 0].numpy(), device="cpu")) == {"mae"}
    assert set(evaluate(reg, X, X[:, 0], loss_fn="mse", metrics=["rmse"], device="cpu")) == {"loss", "rmse"}


def test_evaluate_auto_metrics_need_a_hint_for_loaders():
    loader = DataLoader(TensorDataset(*data()), batch_size=16)
    with pytest.raises(ConfigError, match="metrics='auto' needs loss_fn= or y"):
        evaluate(clf(), loader)
    assert set(evaluate(clf(), loader, loss_fn="cross_entropy", device="cpu")) == {"loss", "accuracy"}


def test_predict_returns_a_cpu_tensor_for_array_input():
    out = predict(clf(), np.random.rand(5, 3), device="cpu", batch_size=2)
    assert isinstance(out, torch.Tensor) and out.shape == (5, 2) and out.device.type == "cpu"


def test_package_exports_everything_in_all():
    expected = {"Trainer", "train", "evaluate", "History", "Callback", "EarlyStopping", "ModelCheckpoint",
                "ProgressBar", "LambdaCallback", "save_checkpoint", "load_checkpoint", "latest_checkpoint"}
    assert expected <= set(tt.__all__)
    assert all(hasattr(tt, name) for name in tt.__all__)


def test_package_is_callable_as_tesla_train():
    import tesla_lab

    X, y = data(16)
    h = tesla_lab.train(clf(), X, y, "adam", "cross_entropy", 2, device="cpu")
    assert h.epoch == [0, 1] and tesla_lab.train.Trainer is tt.Trainer
