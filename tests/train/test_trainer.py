"""Trainer.fit / evaluate / predict: learning, history, validation, data forms, stop flag, seeding, input errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from tesla_lab.errors import ConfigError, DataError, NotFittedError, ShapeError
from tesla_lab.train import Callback, LambdaCallback, Trainer
from tesla_lab.utils import accuracy


def blobs(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Linearly separable 2-class data: X (n, 2), y (n,) int64."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g)
    return X, (X[:, 0] + X[:, 1] > 0).long()


def classifier(seed: int = 0, d_in: int = 2, classes: int = 2) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Linear(d_in, classes)


def fit(model, X, y=None, trainer=None, **kw):
    kw.setdefault("loss_fn", "cross_entropy")
    kw.setdefault("epochs", 2)
    kw.setdefault("batch_size", 16)
    return (trainer or Trainer(device="cpu", seed=0)).fit(model, X, y, **kw)


class Recorder(Callback):
    def __init__(self) -> None:
        self.grad_norms: list[float] = []
        self.steps: list[int] = []

    def on_batch_end(self, trainer, step, logs):
        self.steps.append(step)
        grads = [p.grad for p in trainer.model.parameters() if p.grad is not None]
        self.grad_norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))


# ---------------------------------------------------------------------------------------------- learning, history
def test_fit_reduces_loss_on_linearly_separable_data():
    X, y = blobs(128)
    h = fit(classifier(), X, y, epochs=15, lr=0.1, metrics=["accuracy"])
    assert h.history["loss"][-1] < 0.5 * h.history["loss"][0]
    assert h.history["accuracy"][-1] > 0.9


def test_history_has_keras_keys_per_epoch():
    X, y = blobs()
    h = fit(classifier(), X, y, epochs=3, metrics=["accuracy"], validation_split=0.25)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "epoch_time", "samples_per_sec", "lr"}
    assert h.epoch == [0, 1, 2]
    assert all(len(v) == 3 for v in h.history.values())
    assert h.params["samples"] == 48 and h.params["steps"] == 3


def test_validation_split_holds_out_the_last_fraction():
    X, y = blobs(64)
    model = classifier()
    trainer = Trainer(device="cpu", seed=0)
    h = fit(model, X, y, trainer=trainer, validation_split=0.25, metrics=["accuracy"])
    tail = trainer.evaluate(model, X[48:], y[48:], loss_fn="cross_entropy", metrics=["accuracy"])
    assert h.history["val_loss"][-1] == pytest.approx(tail["loss"], rel=1e-6)
    assert h.history["val_accuracy"][-1] == pytest.approx(tail["accuracy"])


def test_validation_data_is_scored_with_the_final_weights_of_each_epoch():
    X, y = blobs(64)
    Xv, yv = blobs(32, seed=1)
    model = classifier()
    trainer = Trainer(device="cpu", seed=0)
    h = fit(model, X, y, trainer=trainer, validation_data=(Xv.numpy(), yv.numpy()))
    assert h.history["val_loss"][-1] == pytest.approx(trainer.evaluate(model, Xv, yv)["loss"], rel=1e-6)


def test_numpy_lists_and_dataframes_are_accepted():
    X, y = blobs(32)
    df = pd.DataFrame(X.numpy(), columns=["a", "b"])
    h1 = fit(classifier(), df, pd.Series(y.numpy()))
    h2 = fit(classifier(), X.tolist(), y.tolist())
    assert h1.history["loss"] == pytest.approx(h2.history["loss"])


def test_dataloader_input_trains_and_validates():
    X, y = blobs(64)
    loader = DataLoader(TensorDataset(X, y), batch_size=16, shuffle=True)
    val = DataLoader(TensorDataset(X[:16], y[:16]), batch_size=8)
    h = fit(classifier(), loader, epochs=10, lr=0.1, validation_data=val, metrics=["accuracy"])
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert "val_accuracy" in h.history and h.params["samples"] == 64


def test_dataset_input_is_wrapped_in_a_loader():
    X, y = blobs(32)
    h = fit(classifier(), TensorDataset(X, y), epochs=2)
    assert len(h.epoch) == 2


def test_one_hot_targets_train_like_class_indices():
    X, y = blobs(32)
    onehot = torch.nn.functional.one_hot(y, 2).float()
    a, b = classifier(), classifier()
    fit(a, X, y)
    fit(b, X, onehot.numpy())
    torch.testing.assert_close(a.weight, b.weight)


def test_float_integer_labels_and_column_labels_are_accepted():
    X, y = blobs(32)
    h = fit(classifier(), X, y.float().reshape(-1, 1).numpy())
    assert math.isfinite(h.history["loss"][-1])


def test_regression_targets_of_shape_n_are_reshaped_to_the_n_by_1_output():
    torch.manual_seed(0)
    X = torch.randn(32, 3)
    y = X @ torch.tensor([1.0, -2.0, 0.5])  # (32,)
    model = torch.nn.Linear(3, 1)
    trainer = Trainer(device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when MSE would broadcast (N, 1) against (N,)
        h = trainer.fit(model, X, y, loss_fn="mse", epochs=1, batch_size=32, shuffle=False, lr=1e-9)
    expected = torch.nn.functional.mse_loss(model(X), y[:, None]).item()  # lr ~ 0: weights barely move
    assert h.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_custom_loss_gets_integer_labels_unchanged():
    X, y = blobs(32)
    h = fit(classifier(), X, y, loss_fn=lambda out, t: torch.nn.functional.cross_entropy(out, t), epochs=3, lr=0.1)
    assert h.history["loss"][-1] < h.history["loss"][0]


def test_integer_features_are_cast_to_the_model_dtype():
    X = torch.randint(0, 3, (16, 2))
    y = torch.randint(0, 2, (16,))
    assert len(fit(classifier(), X, y).epoch) == 2


def test_bce_accuracy_thresholds_logits_at_zero():
    X, y = blobs(64)
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    trainer = Trainer(device="cpu", seed=0)
    trainer.fit(model, X, y.float(), loss_fn="bce", epochs=10, lr=0.1)
    r = trainer.evaluate(model, X, y.float(), metrics=["accuracy"])
    logits = model(X).detach()[:, 0]
    assert r["accuracy"] == pytest.approx(float(((logits > 0).long() == y).float().mean()))


# ------------------------------------------------------------------------------------------- evaluate / predict
def test_evaluate_metrics_match_reference_values():
    X, y = blobs(50)
    model = classifier(classes=6)
    t = Trainer(device="cpu")
    r = t.evaluate(model, X, y, loss_fn="cross_entropy", batch_size=7,
                   metrics=["accuracy", "top5_accuracy", "top1_accuracy", lambda t_, p: (p.argmax(1) == t_).float()])
    out = model(X).detach()
    assert r["accuracy"] == pytest.approx(accuracy(y, out))
    assert r["top1_accuracy"] == pytest.approx(r["accuracy"])
    assert r["metric"] == pytest.approx(r["accuracy"])
    top5 = (out.topk(5, dim=1).indices == y[:, None]).any(1).float().mean().item()
    assert r["top5_accuracy"] == pytest.approx(top5)
    assert r["loss"] == pytest.approx(torch.nn.functional.cross_entropy(out, y).item(), rel=1e-6)


def test_regression_metrics_match_reference_values():
    torch.manual_seed(0)
    X, y = torch.randn(30, 3), torch.randn(30)
    model = torch.nn.Linear(3, 1)
    r = Trainer(device="cpu").evaluate(model, X, y, loss_fn="mse", batch_size=8, metrics=["mae", "mse", "rmse"])
    err = model(X).detach()[:, 0] - y
    assert r["mae"] == pytest.approx(err.abs().mean().item(), rel=1e-6)
    assert r["mse"] == pytest.approx(err.square().mean().item(), rel=1e-6)
    assert r["rmse"] == pytest.approx(math.sqrt(r["mse"]), rel=1e-6)
    assert r["loss"] == pytest.approx(r["mse"], rel=1e-6)


def test_predict_returns_all_outputs_on_the_cpu():
    X, _ = blobs(37)
    model = classifier()
    out = Trainer(device="cpu").predict(model, X, batch_size=10)
    assert out.device.type == "cpu" and out.shape == (37, 2)
    torch.testing.assert_close(out, model(X).detach())
    loader_out = Trainer(device="cpu").predict(model, DataLoader(TensorDataset(X, X[:, 0]), batch_size=10))
    torch.testing.assert_close(loader_out, out)


# ------------------------------------------------------------------------------------------------- stop, seeding
def test_stop_flag_ends_the_epoch_at_the_next_step_and_keeps_its_logs():
    X, y = blobs(64)

    def stop_after_three(trainer, step, logs):
        if step == 2:
            trainer.stop()

    trainer = Trainer(device="cpu", callbacks=[LambdaCallback(on_batch_end=stop_after_three)])
    h = fit(classifier(), X, y, trainer=trainer, epochs=5, batch_size=8)
    assert h.epoch == [0]  # 8 steps per epoch, stopped after 3
    assert trainer.global_step == 3 and trainer.stopped_epoch == 0
    assert h.history["samples_per_sec"][0] > 0 and math.isfinite(h.history["loss"][0])


def test_stop_flag_is_reset_by_the_next_fit():
    X, y = blobs(32)
    trainer = Trainer(device="cpu")
    trainer.stop()
    assert len(fit(classifier(), X, y, trainer=trainer).epoch) == 2


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    X, y = blobs(64)

    def run(seed):
        torch.manual_seed(123)  # same initial weights; the trainer seed drives shuffling and dropout
        model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Dropout(0.3), torch.nn.Linear(16, 2))
        Trainer(device="cpu", seed=seed).fit(model, X, y, loss_fn="cross_entropy", epochs=3, batch_size=8)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(7), run(7))
    assert not torch.equal(run(7), run(8))


def test_grad_clip_bounds_the_global_gradient_norm():
    torch.manual_seed(0)
    X, y = torch.randn(32, 4), 100 * torch.randn(32)  # huge targets -> huge gradients

    def norms(clip):
        rec = Recorder()
        torch.manual_seed(0)
        Trainer(device="cpu", grad_clip=clip, callbacks=[rec]).fit(torch.nn.Linear(4, 1), X, y, loss_fn="mse",
                                                                   optimizer="sgd", lr=1e-4, batch_size=8)
        return rec.grad_norms

    assert max(norms(None)) > 10
    clipped = norms(0.5)
    assert max(clipped) <= 0.5 * (1 + 1e-4) and min(clipped) > 0.4


def test_on_batch_end_runs_only_for_callbacks_that_override_it():
    X, y = blobs(40)
    rec = Recorder()
    trainer = Trainer(device="cpu", callbacks=[Callback(), rec])
    fit(classifier(), X, y, trainer=trainer, epochs=2, batch_size=16)
    assert rec.steps == list(range(6))  # 3 steps per epoch, global step numbering
    assert [cb.wants_batch_end() for cb in trainer.callbacks] == [False, True]


def test_optimizer_instance_and_lr_override_are_used():
    X, y = blobs(32)
    model = classifier()
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    trainer = Trainer(device="cpu")
    fit(model, X, y, trainer=trainer, optimizer=opt, lr=0.05)
    assert trainer.optimizer is opt and opt.param_groups[0]["lr"] == 0.05


def test_optimizer_class_is_accepted():
    X, y = blobs(32)
    trainer = Trainer(device="cpu")
    fit(classifier(), X, y, trainer=trainer, optimizer=torch.optim.RMSprop)
    assert type(trainer.optimizer).__name__ == "RMSprop"


@pytest.mark.parametrize("device", ["auto", "cpu"])
def test_auto_device_is_cpu_without_cuda(device):
    if torch.cuda.is_available() and device == "auto":
        pytest.skip("CUDA present: auto picks it")
    X, y = blobs(16)
    trainer = Trainer(device=device)
    fit(classifier(), X, y, trainer=trainer)
    assert trainer.device == torch.device("cpu")


# ------------------------------------------------------------------------------------------------- input errors
def _wide():
    return torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))


BAD_FITS = [
    ("length mismatch", dict(X=np.zeros((10, 2)), y=np.zeros(9, dtype=int)), DataError, "X has 10 samples but y has 9"),
    ("nan", dict(X=[[0.0, float("nan")]] * 4, y=[0, 1, 0, 1]), DataError, "NaN"),
    ("empty", dict(X=np.zeros((0, 2)), y=np.zeros(0)), DataError, "empty"),
    ("text", dict(X=[["a", "b"]] * 4, y=[0, 1, 0, 1]), DataError, "must be numeric"),
    ("no y", dict(X=np.zeros((4, 2)), y=None), DataError, "targets are missing"),
    ("fractional labels", dict(X=np.zeros((4, 2)), y=[0, 0.5, 1, 1]), DataError, "integer class labels.*0.5"),
    ("negative labels", dict(X=np.zeros((4, 2)), y=[0, -1, 1, 1]), DataError, "negative label -1"),
    ("label out of range", dict(X=np.zeros((4, 2)), y=[0, 5, 1, 1]), DataError,
     "class label 5 but the model outputs 2"),
    ("wrong width", dict(X=np.zeros((4, 3)), y=[0, 1, 0, 1]), ShapeError,
     r"expects 2 input features but X has 3 \(X shape \(4, 3\)\)"),
    ("unknown optimizer", dict(optimizer="adamm"), ConfigError, "unknown optimizer 'adamm'"),
    ("unknown loss", dict(loss_fn="hinge"), ConfigError, "unknown loss 'hinge'"),
    ("unknown metric", dict(metrics=["acuracy"]), ConfigError, "unknown metric 'acuracy'"),
    ("epochs 0", dict(epochs=0), ConfigError, "epochs must be an integer >= 1; got 0"),
    ("epochs float", dict(epochs=2.5), ConfigError, "epochs must be an integer"),
    ("batch 0", dict(batch_size=0), ConfigError, "batch_size must be an integer >= 1; got 0"),
    ("split 1.5", dict(validation_split=1.5), ConfigError, r"validation_split must be in \[0, 1\)"),
    ("split and data", dict(validation_split=0.2, validation_data=(np.zeros((2, 2)), [0, 1])), ConfigError,
     "either validation_data or validation_split"),
    ("tiny split", dict(X=np.zeros((2, 2)), y=[0, 1], validation_split=0.6), DataError, "both need at least one"),
    ("bad validation_data", dict(validation_data=np.zeros((2, 2))), ConfigError, "validation_data must be"),
    ("initial epoch", dict(initial_epoch=2, epochs=2), ConfigError, "initial_epoch=2 leaves nothing to train"),
    ("resume no dir", dict(resume=True), ConfigError, r"resume=True needs Trainer\(checkpoint_dir"),
    ("resume bad type", dict(resume=3), ConfigError, "resume must be True, False or a checkpoint path"),
    ("mae on classes", dict(metrics=["mae"]), ShapeError, "element-wise"),
    ("lr <= 0", dict(lr=-1.0), ConfigError, "learning rate must be > 0"),
]


@pytest.mark.parametrize("case", BAD_FITS, ids=[c[0] for c in BAD_FITS])
def test_bad_fit_inputs_raise_clear_errors(case):
    _, kwargs, error, match = case
    kwargs = {"X": np.random.rand(8, 2), "y": np.arange(8) % 2, **kwargs}
    X, y = kwargs.pop("X"), kwargs.pop("y")
    with pytest.raises(error, match=match):
        fit(_wide(), X, y, **kwargs)


def test_single_output_with_cross_entropy_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"one output per class.*outputs \(2, 1\)"):
        fit(torch.nn.Linear(2, 1), np.random.rand(4, 2), [0, 1, 0, 1])


def test_regression_output_of_another_shape_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"per-sample shape \(3,\) but y has per-sample shape \(\)"):
        fit(torch.nn.Linear(2, 3), np.random.rand(4, 2), np.random.rand(4), loss_fn="mse")


def test_wrong_width_without_in_features_still_names_x_shape():
    class Opaque(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.randn(2, 2))

        def forward(self, x):
            return x @ self.w

    with pytest.raises(ShapeError, match=r"X has shape \(4, 5\)"):
        fit(Opaque(), np.random.rand(4, 5), [0, 1, 0, 1])


def test_loss_returning_a_vector_is_rejected():
    with pytest.raises(ConfigError, match="loss_fn must return a scalar"):
        fit(_wide(), np.random.rand(4, 2), [0, 1, 0, 1], loss_fn=lambda out, y: (out - 1).sum(1))


def test_model_returning_a_tuple_is_rejected():
    class Pair(torch.nn.Linear):
        def forward(self, x):
            return super().forward(x), x

    with pytest.raises(ConfigError, match="must return a tensor; it returned tuple"):
        fit(Pair(2, 2), np.random.rand(4, 2), [0, 1, 0, 1])


def test_dataloader_with_separate_y_is_rejected():
    loader = DataLoader(TensorDataset(*blobs(8)), batch_size=4)
    with pytest.raises(ConfigError, match="pass y=None"):
        fit(classifier(), loader, np.zeros(8))


def test_dataloader_with_three_items_per_batch_is_rejected():
    X, y = blobs(8)
    loader = DataLoader(TensorDataset(X, y, y), batch_size=4)
    with pytest.raises(DataError, match=r"must yield \(x, y\) batches; got a batch of 3"):
        fit(classifier(), loader)


def test_empty_dataloader_is_rejected():
    loader = DataLoader(TensorDataset(torch.zeros(0, 2), torch.zeros(0, dtype=torch.long)), batch_size=4)
    with pytest.raises(DataError, match="yields no batches"):
        fit(classifier(), loader)


def test_optimizer_bound_to_another_model_is_rejected():
    opt = torch.optim.SGD(classifier().parameters(), lr=0.1)
    with pytest.raises(ConfigError, match="bound to other parameters"):
        fit(classifier(), *blobs(8), optimizer=opt)


def test_frozen_model_is_rejected():
    model = classifier()
    model.requires_grad_(False)
    with pytest.raises(ConfigError, match="no trainable parameters"):
        fit(model, *blobs(8))


def test_non_module_model_is_rejected():
    with pytest.raises(ConfigError, match="model must be a torch.nn.Module; got function"):
        fit(lambda x: x, *blobs(8))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(precision="fp8"), "unknown precision 'fp8'"),
        (dict(grad_clip=-1.0), "grad_clip must be a positive"),
        (dict(callbacks=[print]), "callbacks must be tesla_lab.train.Callback"),
        (dict(seed=1.5), "seed must be an int"),
        (dict(checkpoint_every=0), "checkpoint_every must be an integer >= 1"),
        (dict(keep_checkpoints=0), "keep_checkpoints must be an integer >= 1"),
    ],
)
def test_bad_trainer_options_raise_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        Trainer(**kwargs)


def test_unknown_device_is_reported_when_fit_resolves_it():
    with pytest.raises(ConfigError, match="unsupported device 'tpu'|unknown device 'tpu'"):
        fit(classifier(), *blobs(8), trainer=Trainer(device="tpu"))


def test_evaluate_needs_a_loss_or_metrics():
    with pytest.raises(ConfigError, match="nothing to evaluate"):
        Trainer(device="cpu").evaluate(classifier(), *blobs(8))


def test_evaluate_without_targets_is_a_data_error():
    with pytest.raises(DataError, match="targets are missing"):
        Trainer(device="cpu").evaluate(classifier(), np.zeros((4, 2)), loss_fn="mse")


def test_top_k_on_single_outputs_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"needs class scores of shape \(N, C\)"):
        Trainer(device="cpu").evaluate(torch.nn.Linear(2, 1), np.zeros((4, 2)), np.zeros(4), metrics=["top5"])


def test_predict_with_wrong_width_is_a_shape_error():
    with pytest.raises(ShapeError, match="expects 2 input features but X has 4"):
        Trainer(device="cpu").predict(classifier(), np.zeros((3, 4)))


def test_save_checkpoint_before_fit_is_not_fitted_error():
    with pytest.raises(NotFittedError, match="call fit first"):
        Trainer().save_checkpoint("x.pt")


# ------------------------------------------------------------------------------------------------------- GPU
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_keeps_data_on_device_and_learns(precision):
    X, y = blobs(256)
    model = classifier()
    trainer = Trainer(device="cuda", precision=precision, seed=0)
    h = trainer.fit(model, X, y, loss_fn="cross_entropy", epochs=10, batch_size=32, lr=0.1, metrics=["accuracy"])
    assert next(model.parameters()).device.type == "cuda"
    assert h.history["accuracy"][-1] > 0.9


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_training_steps_never_synchronise_with_the_host():
    X, y = blobs(256)
    steps_per_epoch = 8

    def on_epoch_begin(trainer, epoch, logs):
        torch.cuda.set_sync_debug_mode("error")  # any .item()/.cpu()/sync in the step loop now raises

    def on_batch_end(trainer, step, logs):
        if logs["batch"] == steps_per_epoch - 1:
            torch.cuda.set_sync_debug_mode("default")  # the one sync per epoch comes after the loop

    cb = LambdaCallback(on_epoch_begin=on_epoch_begin, on_batch_end=on_batch_end)
    try:
        Trainer(device="cuda", grad_clip=1.0, callbacks=[cb], seed=0).fit(
            classifier(), X, y, loss_fn="cross_entropy", epochs=2, batch_size=32, metrics=["accuracy"])
    finally:
        torch.cuda.set_sync_debug_mode("default")

