"""Raw uint8 pixels fed to training: ONE ``UnscaledPixelsWarning`` per fit naming the fix; none for scaled data;
evaluate/predict warn when their data is scaled unlike the training data, and work on uint8 tensors."""

import warnings

import numpy as np
import pytest
import torch

import tesla_lab as tesla
from tesla_lab.train import Trainer
from tesla_lab.train.inputs import UnscaledPixelsWarning


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, 4, 4), dtype=np.uint8)
    return X, (X[:, 0, 0] > 127).astype(np.int64)


def _model():
    torch.manual_seed(0)
    return tesla.nn.Sequential(tesla.nn.Flatten(input_shape=(4, 4)), tesla.nn.Dense(2, activation="softmax"))


def _pixel_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, [w for w in caught if issubclass(w.category, UnscaledPixelsWarning)]


def _fit_sequential(model, X, y):
    model.compile(optimizer="sgd", loss="cross_entropy", device="cpu")
    return model.fit(X, y, epochs=3, batch_size=8)


@pytest.mark.parametrize("entry", ["tesla.train", "Sequential.fit", "Trainer.fit"])
def test_raw_uint8_pixels_warn_once_per_fit_naming_the_fix(entry):
    X, y = _images()
    model = _model()
    run = {
        "tesla.train": lambda: tesla.train(model, X, y, "sgd", "cross_entropy", epochs=3, batch_size=8, device="cpu"),
        "Sequential.fit": lambda: _fit_sequential(model, X, y),
        "Trainer.fit": lambda: Trainer(device="cpu").fit(model, torch.from_numpy(X), y, loss_fn="cross_entropy",
                                                         epochs=3, batch_size=8),
    }[entry]
    _, caught = _pixel_warnings(run)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith("X holds raw uint8 pixel values (0..255, largest 255) that are trained on without "
                              "scaling")
    assert "X_train / 255" in message and "tesla.data.PixelScale(max_value=255)" in message
    assert caught[0].filename == __file__  # points at the caller's line, not inside tesla_lab


@pytest.mark.parametrize("scaled", [
    pytest.param(lambda X: X / 255, id="float-divided"),
    pytest.param(lambda X: tesla.data.PixelScale(max_value=255).fit_transform(X), id="PixelScale"),
    pytest.param(lambda X: (X > 127).astype(np.uint8), id="uint8-mask-0-1"),
    pytest.param(lambda X: X.astype(np.int64), id="int64-not-pixels"),
])
def test_scaled_or_non_pixel_data_does_not_warn(scaled):
    X, y = _images()
    _, caught = _pixel_warnings(lambda: tesla.train(_model(), scaled(X), y, "sgd", "cross_entropy", epochs=2,
                                                    device="cpu"))
    assert caught == []


def test_evaluate_and_predict_on_uint8_tensor_follow_the_training_scaling():
    X, y = _images()
    raw_model, scaled_model = _model(), _model()
    _pixel_warnings(lambda: tesla.train(raw_model, X, y, "sgd", "cross_entropy", epochs=2, device="cpu"))
    tesla.train(scaled_model, X / 255, y, "sgd", "cross_entropy", epochs=2, device="cpu")
    X_t = tesla.utils.to_tensor(X)
    assert X_t.dtype == torch.uint8
    # trained on raw pixels, predicted on raw pixels: consistent, no warning, same numbers as model(float X)
    probs, caught = _pixel_warnings(lambda: raw_model.predict(X_t))
    assert caught == []
    np.testing.assert_allclose(probs, raw_model(X_t.float()).detach().numpy(), rtol=1e-6)
    result, caught = _pixel_warnings(lambda: tesla.evaluate(raw_model, X_t, y, device="cpu"))
    assert caught == [] and 0.0 <= result["accuracy"] <= 1.0
    # trained on [0, 1], fed raw pixels: it still runs (the numbers are the model's) but says how to fix it
    for call in (lambda: scaled_model.predict(X_t), lambda: tesla.evaluate(scaled_model, X_t, y, device="cpu")):
        _, caught = _pixel_warnings(call)
        assert len(caught) == 1
        assert str(caught[0].message).startswith("the model was trained on inputs in [0, 1] but X holds raw uint8 "
                                                 "pixels (largest 255); scale X as the training data was")
    _, caught = _pixel_warnings(lambda: raw_model.predict(X / 255))
    assert len(caught) == 1 and "trained on raw uint8 pixels (0..255) but X holds values in [0, 1]" in str(
        caught[0].message)
    _, caught = _pixel_warnings(lambda: scaled_model.predict(X / 255))
    assert caught == []
