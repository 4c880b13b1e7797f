"""A final softmax / sigmoid layer trains exactly like the same model on logits (Keras semantics), while
``model(x)`` and ``predict`` return probabilities."""

import numpy as np
import pytest
import torch

import tesla_lab as tesla
from tesla_lab.loss import BCEWithLogitsLoss, CrossEntropyLoss, attach_logits, logits_of
from tesla_lab.nn import Dense, Flatten, Sequential, Sigmoid, Softmax
from tesla_lab.nn.logits import binary_threshold, final_activation
from tesla_lab.train import Trainer


def _data(n=96, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n, 4, 4, generator=g)
    y = (X.reshape(n, -1)[:, :classes].argmax(dim=1)) if classes > 1 else (X[:, 0, 0] > 0.5).float()
    return X, y


def _model(out_units, activation, seed=0):
    torch.manual_seed(seed)
    return Sequential(Flatten(input_shape=(4, 4)), Dense(8, activation="relu"), Dense(out_units, activation=activation))


def _same_weights(a, b):
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


@pytest.mark.parametrize("units,activation,loss", [(3, "softmax", "cross_entropy"), (1, "sigmoid", "bce")])
def test_tesla_train_with_final_activation_matches_logits_model(units, activation, loss):
    X, y = _data(classes=units if units > 1 else 1)
    probs_model, logits_model = _model(units, activation), _model(units, None)
    assert _same_weights(probs_model, logits_model)
    runs = []
    for model in (probs_model, logits_model):
        opt = tesla.optim.SGD(model.parameters(), lr=0.5)
        runs.append(tesla.train(model, X, y, opt, loss, epochs=3, batch_size=16, seed=1, device="cpu"))
    assert runs[0].history["loss"] == runs[1].history["loss"]  # exact, every epoch
    assert _same_weights(probs_model, logits_model)
    scored = [tesla.evaluate(m, X, y, loss_fn=loss, device="cpu") for m in (probs_model, logits_model)]
    assert scored[0]["loss"] == scored[1]["loss"]


def test_sequential_fit_and_trainer_with_softmax_match_logits():
    X, y = _data()
    a, b = _model(3, "softmax"), _model(3, None)
    for m in (a, b):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"], lr=0.3,
                  device="cpu", seed=2)
    ha, hb = a.fit(X, y, epochs=2, batch_size=8), b.fit(X, y, epochs=2, batch_size=8)
    assert ha.history["loss"] == hb.history["loss"] and ha.history["accuracy"] == hb.history["accuracy"]
    assert _same_weights(a, b)
    # Trainer directly, with PyTorch's own CrossEntropyLoss (swapped for the logits-aware one)
    c, d = _model(3, "softmax", seed=5), _model(3, None, seed=5)
    hc = Trainer(device="cpu", seed=3).fit(c, X, y, optimizer="sgd", loss_fn=torch.nn.CrossEntropyLoss(), lr=0.3)
    hd = Trainer(device="cpu", seed=3).fit(d, X, y, optimizer="sgd", loss_fn=torch.nn.CrossEntropyLoss(), lr=0.3)
    assert hc.history["loss"] == hd.history["loss"] and _same_weights(c, d)


def test_model_call_and_predict_still_return_probabilities():
    X, _ = _data()
    model = _model(3, "softmax")
    out = model(X)
    torch.testing.assert_close(out.sum(dim=1), torch.ones(len(X)))
    probs = model.predict(X)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    torch.testing.assert_close(torch.from_numpy(probs), torch.softmax(logits_of(out, "softmax"), dim=1))


def test_plain_torch_loop_with_tesla_loss_matches_logits_and_torch_loss_sees_probabilities():
    X, y = _data()
    a, b = _model(3, "softmax"), _model(3, None)
    for model in (a, b):
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        for i in range(0, len(X), 16):
            loss = CrossEntropyLoss()(model(X[i:i + 16]), y[i:i + 16])
            opt.zero_grad()
            loss.backward()
            opt.step()
    assert _same_weights(a, b)
    # PyTorch's own loss gets the probabilities (a second softmax): documented, not silently "fixed"
    probs = a(X)
    assert torch.nn.CrossEntropyLoss()(probs, y) != CrossEntropyLoss()(probs, y)


def test_logits_are_ignored_when_output_changed_in_place_or_wrong_kind():
    z = torch.tensor([[2.0, -1.0]])
    p = Softmax(dim=-1)(z)
    assert logits_of(p, "sigmoid") is p  # a BCE loss does not take a softmax's logits
    assert logits_of(p, "softmax") is z
    p.mul_(2)  # the probabilities were edited after the activation: the recorded logits no longer describe them
    assert logits_of(p, "softmax") is p
    q = attach_logits(torch.softmax(torch.zeros(2, 3, 4), dim=2), torch.zeros(2, 3, 4), "softmax", dim=2)
    assert logits_of(q, "softmax", class_dim=1) is q  # softmax over another axis than the loss's classes


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nothing_recorded_while_tracing():
    traced = torch.jit.trace(Softmax(dim=-1), torch.zeros(1, 3))
    out = traced(torch.zeros(1, 3))
    assert logits_of(out, "softmax") is out
    torch.testing.assert_close(out, torch.full((1, 3), 1 / 3))


def test_sigmoid_binary_classifier_metrics_and_predict_classes_use_probability_threshold():
    X, y = _data(classes=1)
    model = _model(1, "sigmoid")
    assert isinstance(final_activation(model), Sigmoid)
    assert binary_threshold(model, BCEWithLogitsLoss()) == 0.5
    assert binary_threshold(_model(1, None), BCEWithLogitsLoss()) == 0.0
    model.compile(optimizer="adam", loss="bce", metrics=["accuracy"], lr=0.05, device="cpu", seed=0)
    model.fit(X, y, epochs=30, batch_size=32)
    probs = model.predict(X).reshape(-1)
    expected = float(((probs > 0.5) == y.numpy().astype(bool)).mean())
    assert expected > 0.8
    assert model.evaluate(X, y)["accuracy"] == pytest.approx(expected)
    np.testing.assert_array_equal(model.predict_classes(X), (probs > 0.5).astype(np.int64))


def test_softmax_layer_round_trips_through_config():
    model = Sequential([Dense(3, input_dim=2), Softmax(dim=1)])
    again = tesla.nn.build_model(model.get_config())
    assert isinstance(again[-1], Softmax) and again[-1].dim == 1
    assert type(tesla.nn.get_activation("softmax")) is Softmax


def test_tensor_network_softmax_output_trains_like_logits():
    X, y = _data()
    nets = []
    for act in ("softmax", None):
        torch.manual_seed(0)
        nets.append(tesla.TensorNetwork(input_dim=16, hidden_dim=8, output_dim=3, tt_rank=2, output_activation=act))
    runs = [tesla.train(net, X.reshape(len(X), -1), y, "sgd", "cross_entropy", epochs=2, lr=0.5, seed=0,
                        device="cpu") for net in nets]
    assert runs[0].history["loss"] == runs[1].history["loss"]
    assert _same_weights(*nets)
