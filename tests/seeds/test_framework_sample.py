"""The TESLA document's MNIST sample (seeds/000) runs verbatim through ``import tesla``.

Only two changes to the document's code block, both checked below: the missing ``)`` that closes
``tesla.nn.Sequential(`` (the document's code is not valid Python without it) and the data source, which names
``tesla.datasets.mnist`` (the document uses an undefined ``mnist``). The data comes from a small MNIST-format cache
written by the test (sklearn's 8x8 digits upscaled to 28x28 uint8 images) through ``TESLA_DATA_DIR``: the very
``load_data()`` code path that reads real MNIST, without the network.
"""

import contextlib
import io
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from tesla_lab.data import write_idx
from tesla_lab.train.inputs import UnscaledPixelsWarning

# the document's code block, verbatim (it does not compile: Sequential( is never closed)
DOCUMENT = """\
import tesla as tesla
# Set up the dataset and data loader
(X_train, y_train), (X_test, y_test) = mnist.load_data()
# Define the model
model = tesla.nn.Sequential(
    tesla.nn.Flatten(input_shape=(28, 28)),
    tesla.nn.Dense(64, activation='relu'),
    tesla.nn.Dense(10, activation='softmax')

# Set up the optimizer and loss function
optimizer = tesla.optim.SGD(model.parameters(), lr=0.01)
loss_fn = tesla.loss.CrossEntropyLoss()

# Train the model
tesla.train(model, X_train, y_train, optimizer, loss_fn, epochs=10)

# Evaluate the model
tesla.evaluate(model, X_test, y_test)

# Use the model to make predictions
predictions = model.predict(tesla.utils.to_tensor(X_test))

# Print the accuracy
print(tesla.utils.accuracy(y_test, predictions))
"""
DATA_LINE = "(X_train, y_train), (X_test, y_test) = mnist.load_data()"
FIXES = {
    DATA_LINE: "(X_train, y_train), (X_test, y_test) = tesla.datasets.mnist.load_data()",
    "tesla.nn.Dense(10, activation='softmax')\n": "tesla.nn.Dense(10, activation='softmax'))\n",
}
SAMPLE = DOCUMENT
for _old, _new in FIXES.items():
    SAMPLE = SAMPLE.replace(_old, _new)

N_TRAIN = 600  # 10 epochs of 19 SGD steps: fast, and enough for ~0.88 test accuracy on scaled pixels


@pytest.fixture(scope="module")
def digits_cache(tmp_path_factory):
    """An MNIST cache folder: the four IDX files, 28x28 uint8 digits (0..255), uint8 labels."""
    digits = load_digits()
    images = np.pad(np.kron(digits.images, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2)))  # 8x8 -> 24x24 -> 28x28
    images = np.clip(images * 16, 0, 255).astype(np.uint8)
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], digits.target[order].astype(np.uint8)
    root = tmp_path_factory.mktemp("tesla-data")
    folder = root / "mnist"
    folder.mkdir()
    for prefix, part in (("train", slice(0, N_TRAIN)), ("t10k", slice(N_TRAIN, None))):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images[part])
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels[part])
    return root


def _run(code, cache, monkeypatch):
    """exec the sample as a script; returns (its globals, its printed output, the warnings it raised)."""
    monkeypatch.setenv("TESLA_DATA_DIR", str(cache))
    torch.manual_seed(0)  # the sample does not seed: make runs of two variants comparable
    namespace = {"__name__": "__main__"}
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        exec(compile(code, "seed-000-sample", "exec"), namespace)  # noqa: S102 (the document's code, on purpose)
    return namespace, out.getvalue(), [w for w in caught if issubclass(w.category, UnscaledPixelsWarning)]


def test_sample_differs_from_the_document_only_by_the_two_fixes():
    with pytest.raises(SyntaxError):
        compile(DOCUMENT, "document", "exec")
    changed = [(a, b) for a, b in zip(DOCUMENT.splitlines(), SAMPLE.splitlines(), strict=True) if a != b]
    assert changed == [(DATA_LINE, FIXES[DATA_LINE]), ("    tesla.nn.Dense(10, activation='softmax')",
                                                       "    tesla.nn.Dense(10, activation='softmax'))")]


def test_verbatim_sample_runs_and_says_once_that_raw_pixels_are_unscaled(digits_cache, monkeypatch):
    ns, printed, pixel_warnings = _run(SAMPLE, digits_cache, monkeypatch)
    X_test, y_test, predictions = ns["X_test"], ns["y_test"], ns["predictions"]
    assert X_test.dtype == np.uint8 and X_test.shape[1:] == (28, 28) and y_test.dtype == np.uint8
    # predict on tesla.utils.to_tensor(uint8 X_test): probabilities of the same (unscaled) inputs training saw
    assert predictions.shape == (len(X_test), 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)
    assert float(printed) == pytest.approx(float((predictions.argmax(1) == y_test).mean()))
    # ONE warning for the 10 epochs, naming both fixes; evaluate/predict on the same raw data add none
    assert len(pixel_warnings) == 1
    message = str(pixel_warnings[0].message)
    assert "raw uint8 pixel values" in message and "X_train / 255" in message and "PixelScale" in message
    assert pixel_warnings[0].filename == "seed-000-sample"  # points at the sample's own tesla.train line


def test_readme_sample_on_scaled_pixels_trains_the_softmax_model_like_logits(digits_cache, monkeypatch):
    scaled = SAMPLE.replace(FIXES[DATA_LINE], FIXES[DATA_LINE] + "\nX_train, X_test = X_train / 255, X_test / 255")
    ns, printed, pixel_warnings = _run(scaled, digits_cache, monkeypatch)
    assert pixel_warnings == []
    # softmax outputs fed to PyTorch-style cross entropy (double softmax) reach ~0.3 here; Keras semantics ~0.88
    assert float(printed) > 0.8
    logits_variant = scaled.replace("tesla.nn.Dense(10, activation='softmax'))", "tesla.nn.Dense(10))")
    ns_logits, printed_logits, _ = _run(logits_variant, digits_cache, monkeypatch)
    assert printed == printed_logits
    for p, q in zip(ns["model"].parameters(), ns_logits["model"].parameters(), strict=True):
        assert torch.equal(p, q)
