import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

import tesla_lab as tesla
from tesla_lab.errors import ConfigError, NotFittedError, ShapeError


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = (d.images / 16.0).astype(np.float32)  # (N, 8, 8)
    return X[:1200], d.target[:1200], X[1200:], d.target[1200:]


def test_seed_000_plain_loop_api_trains_digits_to_high_accuracy(digits):
    """The quickstart of seed 000: Sequential + tesla.train + predict + utils.accuracy."""
    X_train, y_train, X_test, y_test = digits
    tesla.utils.set_seed(0)
    model = tesla.nn.Sequential([
        tesla.nn.Flatten(input_shape=(8, 8)),
        tesla.nn.Dense(64, activation="relu"),
        tesla.nn.Dense(10),
    ])
    optimizer = tesla.optim.Adam(model.parameters(), lr=0.01)  # parameters exist: built at add time
    loss_fn = tesla.loss.CrossEntropyLoss()
    tesla.train(model, X_train, y_train, optimizer, loss_fn, epochs=15)
    predictions = model.predict(X_test)
    assert predictions.shape == (len(X_test), 10)
    assert tesla.utils.accuracy(y_test, predictions) > 0.9


def test_keras_compile_fit_evaluate_with_tt_layer(digits):
    X_train, y_train, X_test, y_test = digits
    model = tesla.nn.Sequential([
        tesla.nn.Flatten(input_shape=(8, 8)),
        tesla.nn.Dense(64, activation="relu", tt_rank=4),
        tesla.nn.Dense(10),
    ])
    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=0.01, seed=0)
    history = model.fit(X_train, y_train, epochs=15, batch_size=64, validation_split=0.1)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert "val_accuracy" in history.history
    scores = model.evaluate(X_test, y_test)
    assert scores["accuracy"] > 0.85
    assert set(model.predict_classes(X_test[:5])) <= set(range(10))


def test_lazy_sequential_is_built_before_the_optimizer_in_fit(digits):
    X_train, y_train, *_ = digits
    model = tesla.nn.Sequential([tesla.nn.Dense(16, activation="relu", tt_rank=2), tesla.nn.Dense(10)])
    assert not model.is_built()
    model.compile(optimizer="sgd", loss="cross_entropy", lr=0.1)
    model.fit(X_train.reshape(len(X_train), -1), y_train, epochs=1)
    assert model.is_built()
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params == sum(p.numel() for g in model._optimizer.param_groups for p in g["params"])


def test_sequential_accepts_pytorch_style_varargs_and_indexing():
    model = tesla.nn.Sequential(tesla.nn.Dense(4, input_dim=3), tesla.nn.LeakyReLU())
    assert len(model) == 2
    assert isinstance(model[0], tesla.nn.Dense)
    assert isinstance(model[:1], tesla.nn.Sequential)
    assert model.output_shape == (4,)


def test_add_reports_the_layer_that_cannot_take_the_incoming_shape():
    model = tesla.nn.Sequential([tesla.nn.Flatten(input_shape=(8, 8))])
    with pytest.raises(ShapeError, match=r"layer 1 \(Conv2D\) cannot take inputs of shape \(N, 64\)"):
        model.add(tesla.nn.Conv2D(4, 3))


def test_add_rejects_non_layers():
    with pytest.raises(ConfigError, match="Sequential.add expects a layer"):
        tesla.nn.Sequential().add("Dense")


def test_fit_before_compile_says_to_compile():
    model = tesla.nn.Sequential([tesla.nn.Dense(2, input_dim=2)])
    with pytest.raises(NotFittedError, match=r"not compiled yet; call model.compile\("):
        model.fit(np.zeros((4, 2)), np.zeros(4))


def test_compile_rejects_unknown_optimizer_and_loss():
    model = tesla.nn.Sequential([tesla.nn.Dense(2, input_dim=2)])
    with pytest.raises(ConfigError, match="unknown optimizer 'adamm'"):
        model.compile(optimizer="adamm")
    with pytest.raises(ConfigError, match="unknown loss 'cross_entropie'"):
        model.compile(loss="cross_entropie")


def test_build_without_known_shape_explains_how():
    with pytest.raises(NotFittedError, match="does not know its input shape; call build"):
        tesla.nn.Sequential([tesla.nn.Dense(2)]).build()


def test_models_work_in_a_plain_pytorch_loop():
    torch.manual_seed(0)
    model = tesla.nn.Sequential([tesla.nn.Dense(8, input_dim=4, activation="tanh", tt_rank=2), tesla.nn.Dense(1)])
    X = torch.randn(64, 4)
    y = X[:, :1] * 2 - X[:, 1:2]
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(100):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first / 5
