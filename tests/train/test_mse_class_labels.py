"""MSE (and the other element-wise losses) with integer class labels: one-hot encoded to the model's outputs."""

import numpy as np
import pytest
import torch

from tesla_lab.errors import DataError, ShapeError
from tesla_lab.train import Trainer


def test_mse_one_hot_encodes_integer_labels_to_the_output_width():
    torch.manual_seed(0)
    X = torch.randn(60, 4)
    y = X[:, :3].argmax(dim=1)  # labels 0..2
    model = torch.nn.Linear(4, 3)
    h = Trainer(device="cpu", seed=0).fit(model, X, y.numpy(), loss_fn="mse", lr=0.1, epochs=30, batch_size=20)
    with torch.no_grad():
        out = model(X)
    assert h.history["loss"][-1] < h.history["loss"][0] / 2
    # the loss is MSE against the one-hot rows: the trainer's value equals the hand-made one
    expected = torch.nn.functional.mse_loss(out, torch.nn.functional.one_hot(y, 3).float()).item()
    assert Trainer(device="cpu").evaluate(model, X, y, loss_fn="mse")["loss"] == pytest.approx(expected, rel=1e-5)
    assert (out.argmax(dim=1) == y).float().mean() > 0.8


def test_integer_valued_float_labels_and_validation_data_are_encoded_too():
    X = torch.randn(12, 4)
    y = np.arange(12, dtype=np.float64) % 4  # 0.0 .. 3.0
    h = Trainer(device="cpu", seed=0).fit(torch.nn.Linear(4, 4), X, y, loss_fn="mse", epochs=1,
                                          validation_data=(X[:4], y[:4]))
    assert np.isfinite(h.history["val_loss"][0])


def test_labels_beyond_the_output_width_are_named():
    X, y = torch.randn(8, 4), torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    with pytest.raises(DataError, match=r"one-hot encodes them to the model's 3 outputs, but y has the label 4 "
                                        r"\(labels must be 0..2\); build the model with output_dim=5"):
        Trainer(device="cpu").fit(torch.nn.Linear(4, 3), X, y, loss_fn="mse", epochs=1)


def test_real_valued_targets_still_get_the_shape_error():
    X, y = torch.randn(8, 4), torch.randn(8)
    with pytest.raises(ShapeError, match=r"the model outputs per-sample shape \(3,\) but y has per-sample shape \(\)"):
        Trainer(device="cpu").fit(torch.nn.Linear(4, 3), X, y, loss_fn="mse", epochs=1)
