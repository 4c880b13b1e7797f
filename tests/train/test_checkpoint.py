"""Checkpoints: exact resume, atomic writes, corrupted files, pruning, RNG round trips."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from tesla_lab.errors import CheckpointError, ConfigError
from tesla_lab.train import EarlyStopping, LambdaCallback, Trainer, latest_checkpoint, load_checkpoint, save_checkpoint
from tesla_lab.train.checkpoint import (
    capture_rng_state,
    checkpoint_path,
    list_checkpoints,
    prune_checkpoints,
    restore_rng_state,
)


def data(n: int = 48):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=g)
    return X, (X[:, 0] - X[:, 1] > 0).long()


def net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)  # Dropout makes the run depend on the global torch RNG too
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(8, 2))


def run(model, ckpt_dir, epochs, resume=False, **trainer_kw):
    trainer = Trainer(device="cpu", seed=0, checkpoint_dir=ckpt_dir, **trainer_kw)
    h = trainer.fit(model, *data(), loss_fn="cross_entropy", epochs=epochs, batch_size=8, resume=resume,
                    validation_split=0.25, metrics=["accuracy"])
    return trainer, h


def flat(model) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


# ------------------------------------------------------------------------------------------------- exact resume
def test_resume_after_a_crash_matches_an_uninterrupted_run(tmp_path):
    straight = net()
    _, h_straight = run(straight, tmp_path / "a", epochs=4)

    run(net(), tmp_path / "b", epochs=2)  # "crashes" after 2 epochs
    random.random(), np.random.rand(), torch.rand(3)  # the new process has other RNG states
    resumed = net(seed=99)  # and other initial weights
    trainer, h = run(resumed, tmp_path / "b", epochs=4, resume=True)

    assert torch.equal(flat(resumed), flat(straight))  # bitwise
    assert h.epoch == [0, 1, 2, 3]
    assert h.history["loss"] == h_straight.history["loss"]
    assert h.history["val_accuracy"] == h_straight.history["val_accuracy"]
    assert trainer.global_step == 4 * 5


def test_resume_from_an_explicit_path(tmp_path):
    run(net(), tmp_path, epochs=3, keep_checkpoints=5)
    straight = net()
    run(straight, tmp_path / "s", epochs=3)
    model = net(seed=5)
    trainer = Trainer(device="cpu", seed=0)
    h = trainer.fit(model, *data(), loss_fn="cross_entropy", epochs=3, batch_size=8, validation_split=0.25,
                    metrics=["accuracy"], resume=str(checkpoint_path(tmp_path, 2)))
    assert torch.equal(flat(model), flat(straight)) and h.epoch == [0, 1, 2]


def test_resume_without_checkpoints_starts_fresh(tmp_path):
    _, h = run(net(), tmp_path, epochs=2, resume=True)
    assert h.epoch == [0, 1] and latest_checkpoint(tmp_path).name == "checkpoint-epoch0002.pt"


def test_resume_of_a_finished_run_trains_nothing(tmp_path):
    run(net(), tmp_path, epochs=2)
    model = net(seed=3)
    _, h = run(model, tmp_path, epochs=2, resume=True)
    assert h.epoch == [0, 1]  # history restored, no new epoch
    assert torch.equal(flat(model), flat(load_and_return(tmp_path)))


def load_and_return(d):
    m = net(seed=1)
    load_checkpoint(latest_checkpoint(d), model=m)
    return m


def test_early_stopping_state_survives_a_resume(tmp_path):
    es = EarlyStopping(monitor="loss", patience=3)
    run(net(), tmp_path, epochs=2, callbacks=[es])
    es2 = EarlyStopping(monitor="loss", patience=3)
    run(net(), tmp_path, epochs=3, resume=True, callbacks=[es2])
    assert es2.best_epoch is not None and es2.best is not None and es2.best <= es.best


def test_resume_with_initial_epoch_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="either resume or initial_epoch"):
        Trainer(checkpoint_dir=tmp_path).fit(net(), *data(), epochs=3, resume=True, initial_epoch=1)


# ------------------------------------------------------------------------------------------- schedule / pruning
def test_checkpoint_every_n_epochs_plus_the_end_keeping_the_newest(tmp_path, monkeypatch):
    written = []
    real_save = torch.save

    def spy(obj, f):
        written.append(obj["epoch"])
        real_save(obj, f)

    monkeypatch.setattr(torch, "save", spy)
    run(net(), tmp_path, epochs=5, checkpoint_every=2, keep_checkpoints=2)
    assert written == [2, 4, 5]
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-epoch0004.pt", "checkpoint-epoch0005.pt"]


def test_stop_request_still_writes_the_checkpoint(tmp_path):
    def stop_early(trainer, step, logs):
        if step == 1:
            trainer.stop()

    trainer, h = run(net(), tmp_path, epochs=10, checkpoint_every=5,
                     callbacks=[LambdaCallback(on_batch_end=stop_early)])
    assert h.epoch == [0] and trainer.global_step == 2
    assert [p.name for p in list_checkpoints(tmp_path)] == ["checkpoint-epoch0001.pt"]


def test_prune_rejects_keep_below_one(tmp_path):
    with pytest.raises(ConfigError, match="keep must be >= 1"):
        prune_checkpoints(tmp_path, keep=0)


def test_latest_checkpoint_orders_by_epoch_not_name(tmp_path):
    m = torch.nn.Linear(1, 1)
    for e in (9, 10, 2):
        save_checkpoint(checkpoint_path(tmp_path, e), model=m, epoch=e)
    (tmp_path / "notes.txt").write_text("x")
    assert latest_checkpoint(tmp_path).name == "checkpoint-epoch0010.pt"
    assert [p.name[-7:] for p in list_checkpoints(tmp_path)] == ["0002.pt", "0009.pt", "0010.pt"]


# ------------------------------------------------------------------------------------------------ atomic writes
def test_interrupted_write_keeps_the_previous_checkpoint_and_leaves_no_partial_file(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 2)
    good = save_checkpoint(checkpoint_path(tmp_path, 1), model=model, epoch=1)
    before = good.read_bytes()

    def dies_midway(obj, f):
        f.write(b"PK\x03\x04 half a zip")  # some bytes reach the disk, then the process "crashes"
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", dies_midway)
    with pytest.raises(CheckpointError, match=r"could not write checkpoint .*checkpoint-epoch0001.pt.*untouched"):
        save_checkpoint(good, model=torch.nn.Linear(3, 2), epoch=1)
    with pytest.raises(CheckpointError, match="could not write"):
        save_checkpoint(checkpoint_path(tmp_path, 2), model=model, epoch=2)
    monkeypatch.undo()

    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-epoch0001.pt"]  # no temp file left
    assert latest_checkpoint(tmp_path) == good
    assert load_checkpoint(good, model=torch.nn.Linear(3, 2))["epoch"] == 1


def test_checkpoint_loads_with_weights_only(tmp_path):
    trainer, _ = run(net(), tmp_path, epochs=1, precision="fp16")
    ckpt = torch.load(latest_checkpoint(tmp_path), weights_only=True)
    assert set(ckpt) >= {"model", "optimizer", "scaler", "epoch", "history", "rng", "extra"}
    assert set(ckpt["rng"]) >= {"torch", "numpy", "python", "generator"}
    assert ckpt["scaler"] is not None and ckpt["extra"]["trainer"]["precision"] == "fp16"


# ---------------------------------------------------------------------------------------------- broken checkpoints
def test_truncated_checkpoint_names_the_file_and_the_previous_one(tmp_path):
    run(net(), tmp_path, epochs=2)
    broken = checkpoint_path(tmp_path, 2)
    broken.write_bytes(broken.read_bytes()[:200])
    msg = r"checkpoint .*checkpoint-epoch0002.pt cannot be read .*corrupted or truncated.*checkpoint-epoch0001.pt"
    with pytest.raises(CheckpointError, match=msg):
        load_checkpoint(broken, model=net())
    with pytest.raises(CheckpointError, match=msg):
        run(net(), tmp_path, epochs=3, resume=True)


def test_garbage_file_is_reported_as_corrupted(tmp_path):
    bad = tmp_path / "checkpoint-epoch0001.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="corrupted or truncated. no other checkpoint"):
        load_checkpoint(bad)


def test_missing_checkpoint_is_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_foreign_file_is_not_a_tesla_checkpoint(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="is not a TESLA Lab checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_checkpoint_of_another_architecture_does_not_fit(tmp_path):
    p = save_checkpoint(tmp_path / "m.pt", model=torch.nn.Linear(3, 2), epoch=1)
    with pytest.raises(CheckpointError, match="does not fit this model"):
        load_checkpoint(p, model=torch.nn.Linear(4, 2))


def test_optimizer_state_of_another_shape_does_not_fit(tmp_path):
    m = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    p = save_checkpoint(tmp_path / "m.pt", model=m, optimizer=opt, epoch=1)
    other = torch.optim.SGD([{"params": [m.weight]}, {"params": [m.bias]}], lr=0.1)
    with pytest.raises(CheckpointError, match="optimizer state that does not fit"):
        load_checkpoint(p, optimizer=other)


class Unsafe:
    pass


def test_extra_with_arbitrary_objects_is_refused_on_load(tmp_path):
    p = save_checkpoint(tmp_path / "m.pt", model=torch.nn.Linear(1, 1), epoch=1, extra={"obj": Unsafe()})
    with pytest.raises(CheckpointError, match="refuses.*Unsafe"):
        load_checkpoint(p)


# ---------------------------------------------------------------------------------------------------- RNG states
def test_rng_states_round_trip_for_every_source():
    g = torch.Generator().manual_seed(3)
    state = capture_rng_state(g)
    first = (random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(), torch.rand(2),
             torch.randperm(6, generator=g))
    restore_rng_state(state, g)
    again = (random.random(), random.gauss(0, 1), np.random.rand(), np.random.randn(), torch.rand(2),
             torch.randperm(6, generator=g))
    assert first[:4] == again[:4]
    assert torch.equal(first[4], again[4]) and torch.equal(first[5], again[5])
