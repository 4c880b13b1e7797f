"""Callbacks: hook order, History, EarlyStopping, ModelCheckpoint, ProgressBar, LambdaCallback."""

from __future__ import annotations

import io
import math

import pandas as pd
import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.train import (
    Callback,
    EarlyStopping,
    History,
    LambdaCallback,
    ModelCheckpoint,
    ProgressBar,
    Trainer,
    latest_checkpoint,
)
from tesla_lab.train.callbacks import metric_mode


def data(n: int = 32):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 2, generator=g)
    return X, (X[:, 0] > 0).long()


def model():
    torch.manual_seed(0)
    return torch.nn.Linear(2, 2)


def fit(callbacks, epochs=3, trainer_kw=None, **kw):
    trainer = Trainer(device="cpu", seed=0, callbacks=callbacks, **(trainer_kw or {}))
    h = trainer.fit(model(), *data(), loss_fn="cross_entropy", epochs=epochs, batch_size=16, **kw)
    return trainer, h


class Events(Callback):
    def __init__(self, name: str, log: list) -> None:
        self.name, self.log = name, log

    def on_train_begin(self, trainer, logs=None):
        self.log.append((self.name, "train_begin"))

    def on_epoch_begin(self, trainer, epoch, logs=None):
        self.log.append((self.name, "epoch_begin", epoch))

    def on_epoch_end(self, trainer, epoch, logs):
        # History runs first, so the epoch being ended is already recorded
        self.log.append((self.name, "epoch_end", epoch, len(trainer.history.epoch)))

    def on_train_end(self, trainer, logs=None):
        self.log.append((self.name, "train_end"))


class Scripted(Callback):
    """Overwrites logs[monitor] with a scripted sequence (callbacks share the logs dict) and snapshots weights."""

    def __init__(self, values, monitor="val_loss"):
        self.values, self.monitor, self.weights = values, monitor, []

    def on_epoch_end(self, trainer, epoch, logs):
        logs[self.monitor] = self.values[epoch]
        self.weights.append(trainer.model.weight.detach().clone())


# -------------------------------------------------------------------------------------------------------- order
def test_hooks_run_in_order_and_callbacks_in_list_order():
    log: list = []
    fit([Events("a", log), Events("b", log)], epochs=2)
    assert log == [
        ("a", "train_begin"), ("b", "train_begin"),
        ("a", "epoch_begin", 0), ("b", "epoch_begin", 0), ("a", "epoch_end", 0, 1), ("b", "epoch_end", 0, 1),
        ("a", "epoch_begin", 1), ("b", "epoch_begin", 1), ("a", "epoch_end", 1, 2), ("b", "epoch_end", 1, 2),
        ("a", "train_end"), ("b", "train_end"),
    ]


def test_on_exception_runs_when_training_fails():
    seen = []

    class Boom(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            raise RuntimeError("boom")

        def on_exception(self, trainer, exc):
            seen.append(str(exc))

    bar = ProgressBar(disable=True)
    with pytest.raises(RuntimeError, match="boom"):
        fit([bar, Boom()])
    assert seen == ["boom"] and bar.bar is None


def test_lambda_callback_calls_its_functions():
    calls = []
    cb = LambdaCallback(on_train_begin=lambda t, logs: calls.append("begin"),
                        on_epoch_begin=lambda t, e, logs: calls.append(f"eb{e}"),
                        on_epoch_end=lambda t, e, logs: calls.append(f"ee{e}"),
                        on_batch_end=lambda t, s, logs: calls.append(f"b{s}"),
                        on_train_end=lambda t, logs: calls.append("end"))
    fit([cb], epochs=1)
    assert calls == ["begin", "eb0", "b0", "b1", "ee0", "end"]


def test_lambda_callback_rejects_non_callables():
    with pytest.raises(ConfigError, match=r"LambdaCallback\(on_epoch_end=...\) must be a function"):
        LambdaCallback(on_epoch_end=3)


def test_batch_logs_hold_the_loss_as_a_device_tensor():
    got = []
    fit([LambdaCallback(on_batch_end=lambda t, s, logs: got.append(logs))], epochs=1)
    assert isinstance(got[0]["loss"], torch.Tensor) and got[0]["size"] == 16 and got[1]["batch"] == 1


# ------------------------------------------------------------------------------------------------------ History
def test_history_best_to_dataframe_and_round_trip():
    h = History()
    for e, (loss, acc) in enumerate([(1.0, 0.5), (0.4, 0.9), (0.6, 0.8)]):
        h.on_epoch_end(None, e, {"val_loss": loss, "val_accuracy": acc})
    assert h.best() == 0.4 and h.best_epoch() == 1
    assert h.best("val_accuracy") == 0.9 and h.best("val_loss", mode="max") == 1.0
    df = h.to_dataframe()
    assert isinstance(df, pd.DataFrame) and list(df.index) == [0, 1, 2] and df["val_loss"].iloc[2] == 0.6
    again = History.from_dict(h.to_dict())
    assert again.history == h.history and again.epoch == h.epoch and len(again) == 3


def test_history_keeps_late_keys_aligned_with_epochs():
    h = History()
    h.on_epoch_end(None, 0, {"loss": 1.0})
    h.on_epoch_end(None, 1, {"loss": 0.5, "val_loss": 0.7})
    h.on_epoch_end(None, 2, {"val_loss": 0.6})
    assert math.isnan(h.history["val_loss"][0]) and math.isnan(h.history["loss"][2])
    assert h.best_epoch("val_loss") == 2


def test_history_best_of_unknown_metric_is_config_error():
    h = History()
    h.on_epoch_end(None, 0, {"loss": 1.0})
    with pytest.raises(ConfigError, match="no metric 'val_acc' in this history; it has: loss"):
        h.best("val_acc")


def test_metric_mode_guesses_direction_and_rejects_unknown_modes():
    assert metric_mode("val_top5_accuracy") == "max" and metric_mode("val_rmse") == "min"
    with pytest.raises(ConfigError, match="mode must be 'auto', 'min' or 'max'; got 'up'"):
        metric_mode("loss", "up")


# ------------------------------------------------------------------------------------------------ EarlyStopping
def test_early_stopping_stops_after_patience_and_restores_best_weights():
    script = Scripted([1.0, 0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2])
    es = EarlyStopping(monitor="val_loss", patience=2)
    trainer, h = fit([script, es], epochs=8, validation_split=0.25)
    assert h.epoch == [0, 1, 2, 3]  # best at 1, no improvement at 2 and 3 -> stop
    assert es.stopped_epoch == 3 and es.best_epoch == 1 and trainer.stopped_epoch == 3
    torch.testing.assert_close(trainer.model.weight, script.weights[1], rtol=0, atol=0)
    assert not torch.equal(script.weights[1], script.weights[3])


def test_early_stopping_without_restore_keeps_last_weights():
    script = Scripted([1.0, 0.5, 0.7, 0.8, 0.9])
    trainer, _ = fit([script, EarlyStopping(patience=2, restore_best_weights=False)], epochs=5,
                     validation_split=0.25)
    torch.testing.assert_close(trainer.model.weight, script.weights[-1], rtol=0, atol=0)


def test_early_stopping_min_delta_and_max_mode():
    script = Scripted([0.50, 0.505, 0.509, 0.6], monitor="accuracy")
    es = EarlyStopping(monitor="accuracy", patience=2, min_delta=0.01)
    _, h = fit([script, es], epochs=4, metrics=["accuracy"])
    assert es.mode == "max" and h.epoch == [0, 1, 2]  # +0.005 and +0.009 are below min_delta


def test_early_stopping_on_missing_monitor_says_how_to_fix():
    with pytest.raises(ConfigError, match=r"monitors 'val_loss'.*pass validation_data= or validation_split="):
        fit([EarlyStopping()])


@pytest.mark.parametrize("kwargs, match", [(dict(patience=-1), "patience must be >= 0"),
                                           (dict(min_delta=-0.1), "min_delta must be >= 0")])
def test_early_stopping_rejects_bad_options(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        EarlyStopping(**kwargs)


# ----------------------------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_writes_every_n_epochs_and_the_best(tmp_path):
    script = Scripted([1.0, 0.5, 0.7, 0.4], monitor="loss")
    mc = ModelCheckpoint(tmp_path, every_n_epochs=2, monitor="loss", keep=1)
    fit([script, mc], epochs=4)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best.pt", "checkpoint-epoch0004.pt"]  # epoch 2's file pruned by keep=1
    assert mc.best == 0.4 and latest_checkpoint(tmp_path).name == "checkpoint-epoch0004.pt"
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 4


def test_model_checkpoint_save_best_only_writes_only_best(tmp_path):
    script = Scripted([1.0, 0.5, 0.7], monitor="loss")
    fit([script, ModelCheckpoint(tmp_path, monitor="loss", save_best_only=True)], epochs=3)
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 2  # epoch index 1 = 2 epochs done


@pytest.mark.parametrize("kwargs, match", [(dict(save_best_only=True), "save_best_only=True needs monitor"),
                                           (dict(every_n_epochs=0), "every_n_epochs must be >= 1"),
                                           (dict(keep=0), "keep must be >= 1 or None")])
def test_model_checkpoint_rejects_bad_options(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ModelCheckpoint(tmp_path, **kwargs)


def test_model_checkpoint_missing_monitor_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="ModelCheckpoint monitors 'val_acc'"):
        fit([ModelCheckpoint(tmp_path, monitor="val_acc")], epochs=1)


# --------------------------------------------------------------------------------------------------- ProgressBar
def test_progress_bar_updates_once_per_epoch_and_closes():
    updates = []

    class Spy(ProgressBar):
        def on_epoch_end(self, trainer, epoch, logs):
            super().on_epoch_end(trainer, epoch, logs)
            updates.append(self.bar.n)

    out = io.StringIO()
    bar = Spy(file=out)
    fit([bar], epochs=3, metrics=["accuracy"])
    assert updates == [1, 2, 3] and bar.bar is None
    assert "3/3" in out.getvalue() and "accuracy=" in out.getvalue()


def test_progress_true_adds_a_bar(capsys):
    trainer, _ = fit([], epochs=2, trainer_kw={"progress": True})
    assert any(isinstance(cb, ProgressBar) for cb in trainer._callbacks_run)
    assert "2/2" in capsys.readouterr().err
