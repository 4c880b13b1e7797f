"""A stop (``trainer.stop()``, SIGINT / SIGTERM, the store's stop flag) that lands before an epoch's first step: that
epoch did not happen, so it is not logged (no NaN-loss epoch), not counted and not checkpointed; training ends with
the last complete epoch, and a resume continues exactly from there."""

from __future__ import annotations

import math
import os
import signal

import torch

from tesla_lab.store import Project
from tesla_lab.train import LambdaCallback, StopOnSignal, Trainer, load_checkpoint
from tesla_lab.train.checkpoint import list_checkpoints
from tesla_lab.workflow import resume_model, train_model


def data(n: int = 48):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=g)
    return X, (X[:, 0] - X[:, 1] > 0).long()


def net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)  # Dropout: the run depends on the global torch RNG too
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(8, 2))


def fit(model, ckpt_dir, epochs, callbacks=(), resume=False):
    trainer = Trainer(device="cpu", seed=0, checkpoint_dir=ckpt_dir, checkpoint_every=100, callbacks=callbacks)
    h = trainer.fit(model, *data(), loss_fn="cross_entropy", epochs=epochs, batch_size=8, resume=resume,
                    validation_split=0.25, metrics=["accuracy"])
    return trainer, h


def flat(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_a_stop_before_an_epochs_first_step_ends_training_at_the_last_complete_epoch(tmp_path):
    def stop_at_third(trainer, epoch, logs):
        if epoch == 2:
            trainer.stop()  # before epoch 2's first step

    trainer, h = fit(net(), tmp_path, epochs=5, callbacks=[LambdaCallback(on_epoch_begin=stop_at_third)])
    assert h.epoch == [0, 1]  # no epoch 2 with a NaN loss
    assert all(math.isfinite(v) for values in h.history.values() for v in values)
    assert trainer.epochs_done == 2 and trainer.stopped_epoch == 1 and trainer.global_step == 2 * 5
    # the interrupted state is checkpointed (checkpoint_every=100 wrote none before) and counts 2 epochs
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-epoch0002.pt"]
    ckpt = load_checkpoint(list_checkpoints(tmp_path)[0])
    assert ckpt["epoch"] == 2 and ckpt["history"]["epoch"] == [0, 1]

    # nothing of epoch 2 was drawn from the RNGs: the resume is bitwise the uninterrupted run
    straight = net()
    _, h_straight = fit(straight, tmp_path / "straight", epochs=4)
    resumed = net(seed=99)
    trainer, h = fit(resumed, tmp_path, epochs=4, resume=True)
    assert h.epoch == [0, 1, 2, 3] and h.history["loss"] == h_straight.history["loss"]
    assert torch.equal(flat(resumed), flat(straight)) and trainer.global_step == 4 * 5


def test_a_stop_before_the_first_epoch_of_a_fit_trains_and_checkpoints_nothing(tmp_path):
    def stop_at_once(trainer, epoch, logs):
        trainer.stop()

    trainer, h = fit(net(), tmp_path, epochs=3, callbacks=[LambdaCallback(on_epoch_begin=stop_at_once)])
    assert h.epoch == [] and h.history == {}
    assert trainer.epochs_done == 0 and trainer.stopped_epoch is None and trainer.global_step == 0
    assert list_checkpoints(tmp_path) == []  # the untrained model is no state to resume from


def test_sigint_before_an_epochs_first_step_stops_at_the_last_complete_epoch(tmp_path):
    def interrupt(trainer, epoch, logs):
        if epoch == 1:
            os.kill(os.getpid(), signal.SIGINT)  # delivered at once in the main thread, before epoch 1's first step

    stopper = StopOnSignal()
    trainer, h = fit(net(), tmp_path, epochs=5, callbacks=[stopper, LambdaCallback(on_epoch_begin=interrupt)])
    assert stopper.received == "SIGINT"
    assert h.epoch == [0] and trainer.epochs_done == 1 and trainer.global_step == 5
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-epoch0001.pt"]


def test_a_signal_before_an_epochs_first_step_leaves_no_nan_epoch_in_the_store_and_resumes(tmp_path):
    project = Project.init(tmp_path)

    def interrupt(trainer, epoch, logs):
        if epoch == 2:
            os.kill(os.getpid(), signal.SIGINT)

    result = train_model(project, {"dataset": "iris", "epochs": 50, "checkpoint_every": 20, "device": "cpu",
                                   "seed": 0}, name="iris", callbacks=[LambdaCallback(on_epoch_begin=interrupt)])
    run = project.get_run(result.run_id)
    assert result.status == "stopped" and run.status == "stopped"
    history = run.history()
    assert list(history.index) == [0, 1] and history["loss"].notna().all()  # the dashboard's curves: 2 epochs
    assert run.artifacts().query("kind == 'checkpoint'")["name"].tolist() == ["checkpoint-epoch0002.pt"]
    losses = history["loss"].tolist()

    resumed = resume_model(project, run.id, epochs=4)
    history = run.history()["loss"]
    assert resumed.status == "finished" and list(history.index) == [0, 1, 2, 3]
    assert history.iloc[:2].tolist() == losses and history.notna().all()  # strict: no NaN anywhere
