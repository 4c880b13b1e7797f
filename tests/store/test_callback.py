"""StoreCallback: metrics per epoch, status, the stop flag (per epoch and every N steps), checkpoints, rank 0."""

from __future__ import annotations

import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.store import Project, StoreCallback
from tesla_lab.train import LambdaCallback, Trainer


@pytest.fixture
def project(tmp_path, store_engine):
    return Project.init(tmp_path / "proj")


def data(n=64):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 2, generator=g)
    return X, (X[:, 0] > 0).long()


def model():
    torch.manual_seed(0)
    return torch.nn.Linear(2, 2)


def fit(callbacks, epochs=3, batch_size=16, trainer_kw=None, **kw):
    trainer = Trainer(**{"device": "cpu", "seed": 0, "callbacks": callbacks, **(trainer_kw or {})})
    net = model()
    history = trainer.fit(net, *data(), loss_fn="cross_entropy", epochs=epochs, batch_size=batch_size,
                          metrics=["accuracy"], **kw)
    return trainer, net, history


def test_a_fit_is_recorded_epoch_by_epoch(project):
    run = project.start_run(name="fit")
    trainer, net, history = fit([StoreCallback(run)])
    info = run.info()
    assert info["status"] == "finished" and info["device"] == "cpu" and info["ended"] is not None
    wide = run.history()
    assert list(wide.index) == [0, 1, 2]
    assert wide["loss"].tolist() == pytest.approx(history.history["loss"])
    assert {"loss", "accuracy", "epoch_time", "lr"} <= set(wide.columns)
    params = run.params()
    assert params["epochs"] == 3 and params["batch_size"] == 16 and params["seed"] == 0
    state = project.registry.register_model("clf", run_id=run.id).load()
    assert torch.equal(state["weight"], net.weight.detach())


def test_each_epoch_is_written_in_one_transaction(project, monkeypatch):
    run = project.start_run()
    calls = []
    real = type(project.db).transaction

    def counting(self):
        calls.append(1)
        return real(self)

    cb = StoreCallback(run, log_model=False, log_params=False, finish=False)
    trainer = Trainer(device="cpu", seed=0, callbacks=[cb])
    monkeypatch.setattr(type(project.db), "transaction", counting)
    trainer_epochs = 4
    trainer.fit(model(), *data(), loss_fn="cross_entropy", epochs=trainer_epochs, batch_size=8)
    # on_train_begin marks the run running (1 write), then one metrics transaction per epoch
    assert len(calls) == 1 + trainer_epochs
    assert run.status == "running"  # finish=False leaves the run open for another fit


def test_the_stop_flag_stops_training_at_the_epoch_end(project):
    run = project.start_run()
    ui_button = LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: run.request_stop() if epoch == 1 else None)
    trainer, _, history = fit([ui_button, StoreCallback(run, check_stop_every=None)], epochs=10)
    assert history.epoch == [0, 1] and trainer.stopped_epoch == 1
    assert run.status == "stopped" and list(run.history().index) == [0, 1]


def test_the_stop_flag_is_checked_every_n_steps_within_an_epoch(project):
    run = project.start_run()
    steps = []

    def press(trainer, step, logs):
        steps.append(step)
        if step == 2:
            run.request_stop()  # the stop button, pressed mid-epoch

    cb = StoreCallback(run, check_stop_every=2)
    assert cb.wants_batch_end()
    trainer, _, history = fit([LambdaCallback(on_batch_end=press), cb], epochs=5, batch_size=4)  # 16 steps/epoch
    # checked after steps 1 and 3 (every 2nd): stop seen after step 3, the loop ends before step 4
    assert steps == [0, 1, 2, 3]
    assert history.epoch == [0] and run.status == "stopped"
    assert run.history().index.tolist() == [0]  # the interrupted epoch's logs are still written


def test_no_per_step_calls_without_check_stop_every(project):
    assert not StoreCallback(project.start_run(), check_stop_every=None).wants_batch_end()
    assert not StoreCallback(project.start_run(), check_stop_every=0).wants_batch_end()


def test_a_stop_requested_before_training_stops_it_at_once(project):
    run = project.start_run(status="queued")
    run.request_stop()
    _, _, history = fit([StoreCallback(run)], epochs=5)
    # not even one epoch: an epoch without a step would have been logged with a NaN loss
    assert history.epoch == [] and run.status == "stopped" and run.history().empty


def test_a_signal_before_the_first_step_stores_no_checkpoint_of_the_untrained_model(project):
    import os
    import signal

    run = project.start_run()
    interrupt = LambdaCallback(on_epoch_begin=lambda trainer, epoch, logs: os.kill(os.getpid(), signal.SIGINT))
    _, _, history = fit([StoreCallback(run, stop_on_signal=True), interrupt], epochs=5)
    assert history.epoch == [] and run.status == "stopped" and run.history().empty
    assert run.artifacts().query("kind == 'checkpoint'").empty  # resuming it starts from scratch, as it should


def test_early_stopping_still_ends_the_run_finished(project):
    run = project.start_run()
    from tesla_lab.train import EarlyStopping

    fit([EarlyStopping(monitor="loss", patience=0, min_delta=1e9), StoreCallback(run)], epochs=5)
    assert run.status == "finished"


def test_an_exception_marks_the_run_failed_with_the_traceback(project):
    run = project.start_run()

    def boom(trainer, epoch, logs):
        if epoch == 1:
            raise RuntimeError("CUDA out of memory (simulated)")

    with pytest.raises(RuntimeError, match="simulated"):
        fit([StoreCallback(run), LambdaCallback(on_epoch_end=boom)], epochs=3)
    info = run.info()
    assert info["status"] == "failed" and "RuntimeError: CUDA out of memory (simulated)" in info["error"]
    assert list(run.history().index) == [0, 1]


def test_ctrl_c_marks_the_run_stopped(project):
    run = project.start_run()

    def interrupt(trainer, epoch, logs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit([StoreCallback(run), LambdaCallback(on_epoch_end=interrupt)], epochs=3)
    assert run.status == "stopped"


def test_inside_a_with_block_the_callback_status_is_kept(project):
    run_ref = []
    run = project.start_run()
    run.request_stop()
    with run:
        fit([StoreCallback(run)], epochs=3)
        run_ref.append(run.status)
    assert run_ref == ["stopped"] and run.status == "stopped"


def test_checkpoints_are_stored_and_resume_training(project):
    run = project.start_run()
    fit([StoreCallback(run, checkpoint_every=2, keep_checkpoints=2)], epochs=3)
    names = run.artifacts().query("kind == 'checkpoint'")["name"].tolist()
    assert names == ["checkpoint-epoch0002.pt", "checkpoint-epoch0003.pt"]
    path = run.latest_checkpoint()
    resumed = project.start_run(parent=run)
    _, _, history = fit([StoreCallback(resumed)], epochs=5, resume=path)
    assert history.epoch == [0, 1, 2, 3, 4]  # the restored history continues
    assert list(resumed.history().index) == [3, 4]


def test_a_stopped_run_stores_a_checkpoint_of_where_it_stopped(project):
    run = project.start_run()
    stop = LambdaCallback(on_epoch_end=lambda trainer, epoch, logs: run.request_stop() if epoch == 0 else None)
    fit([stop, StoreCallback(run, checkpoint_every=5)], epochs=10)
    assert run.artifacts().query("kind == 'checkpoint'")["name"].tolist() == ["checkpoint-epoch0001.pt"]


def test_other_ranks_write_nothing(project, monkeypatch):
    import torch.distributed as dist

    monkeypatch.setattr(dist, "is_available", lambda: True)
    monkeypatch.setattr(dist, "is_initialized", lambda: True)
    monkeypatch.setattr(dist, "get_rank", lambda group=None: 1)
    run = project.start_run(status="queued")
    run.request_stop()  # rank 1 does not even read the flag
    _, _, history = fit([StoreCallback(run)], epochs=2)
    assert len(history.epoch) == 2
    assert run.status == "queued" and run.metrics().empty and run.artifacts().empty


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"check_stop_every": -1}, "check_stop_every must be an integer >= 0 or None"),
    ({"check_stop_every": 2.5}, "check_stop_every must be an integer >= 0 or None"),
    ({"checkpoint_every": 0}, "checkpoint_every must be an integer >= 1 or None; got 0"),
])
def test_bad_arguments_are_config_errors(project, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        StoreCallback(project.start_run(), **kwargs)


def test_the_run_must_be_a_store_run():
    with pytest.raises(ConfigError, match="StoreCallback needs a tesla_lab.store.Run .*; got str"):
        StoreCallback("run-id")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_the_per_step_stop_check_never_synchronises_and_the_model_is_stored_on_cpu(project):
    run = project.start_run()
    steps_per_epoch = 4

    def on_epoch_begin(trainer, epoch, logs):
        torch.cuda.set_sync_debug_mode("error")  # any .item()/.cpu() in the step loop raises

    def on_batch_end(trainer, step, logs):
        if logs["batch"] == steps_per_epoch - 1:
            torch.cuda.set_sync_debug_mode("default")  # the one sync per epoch comes after the loop

    sync_guard = LambdaCallback(on_epoch_begin=on_epoch_begin, on_batch_end=on_batch_end)
    try:
        fit([StoreCallback(run, check_stop_every=1), sync_guard], epochs=2, batch_size=16,
            trainer_kw={"device": "cuda"})
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert run.status == "finished" and run.info()["device"].startswith("cuda")
    state = project.registry.register_model("gpu", run_id=run.id).load()
    assert state["weight"].device.type == "cpu"
