"""Distributed training: strategy choice and errors in this process; real torchrun runs (2 processes, gloo, CPU)
checked against a one-process reference trained here."""

import importlib.util
import json
import math
import os
import shutil
import socket
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tesla_lab.errors import ConfigError
from tesla_lab.train import EarlyStopping, Trainer, load_checkpoint
from tesla_lab.train.batches import _Data
from tesla_lab.train.distributed import (
    DDPStrategy,
    DistEnv,
    FSDPStrategy,
    SingleProcess,
    _rank_device,
    distributed_env,
    get_strategy,
    resolve_strategy,
)
from tesla_lab.train.launch import launch

SCRIPT = Path(__file__).with_name("ddp_script.py")
_spec = importlib.util.spec_from_file_location("ddp_script", SCRIPT)
ddp_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ddp_script)

TORCHRUN_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


@pytest.fixture
def no_torchrun(monkeypatch):
    for name in TORCHRUN_ENV:
        monkeypatch.delenv(name, raising=False)


# ------------------------------------------------------------------------------------------ choice and errors
def test_auto_picks_ddp_only_under_torchrun_with_several_processes():
    torchrun = {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"}
    assert isinstance(resolve_strategy("auto", environ=torchrun), DDPStrategy)
    assert isinstance(resolve_strategy(None, environ=torchrun), DDPStrategy)
    assert isinstance(resolve_strategy("auto", environ={}), SingleProcess)
    assert isinstance(resolve_strategy("auto", environ={**torchrun, "RANK": "0", "WORLD_SIZE": "1"}), SingleProcess)
    assert isinstance(resolve_strategy("single", environ=torchrun), SingleProcess)
    assert isinstance(resolve_strategy("fsdp", environ={}), FSDPStrategy)
    mine = DDPStrategy(sync_stop_every=5)
    assert resolve_strategy(mine, environ={}) is mine


def test_distributed_env_reads_torchrun_variables():
    assert distributed_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == DistEnv(3, 4, 1)
    assert distributed_env({"LOCAL_RANK": "0"}) is None
    with pytest.raises(ConfigError, match=r"0 <= RANK < WORLD_SIZE; got RANK='4', WORLD_SIZE='4'"):
        distributed_env({"RANK": "4", "WORLD_SIZE": "4", "LOCAL_RANK": "0"})


def test_unknown_strategy_is_refused_when_the_trainer_is_built():
    with pytest.raises(ConfigError, match=r"unknown strategy 'dpp' \(did you mean 'ddp'\?\); choose one of: auto"):
        Trainer(strategy="dpp")
    with pytest.raises(ConfigError, match=r"strategy must be a name .* got int 2"):
        get_strategy(2)


@pytest.mark.parametrize("strategy", ["ddp", "fsdp"])
def test_fit_outside_torchrun_explains_how_to_launch(no_torchrun, strategy):
    with pytest.raises(ConfigError, match=rf"strategy='{strategy}' runs one process per device, but this process "
                                          r"was not started by torchrun.*tesla train --nproc N.*torchrun "
                                          r"--nproc-per-node N script.py.*launch\('script.py', nproc=N\) from "
                                          r"tesla_lab.train.launch"):
        Trainer(strategy=strategy, device="cpu").fit(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8))


def test_strategy_options_are_checked():
    with pytest.raises(ConfigError, match=r"sync_stop_every must be an integer >= 1 .* got 0"):
        DDPStrategy(sync_stop_every=0)
    with pytest.raises(ConfigError, match=r"backend must be None .* got 'tcp'"):
        DDPStrategy(backend="tcp")
    with pytest.raises(ConfigError, match=r"min_params must be an integer >= 1 .* got 0"):
        FSDPStrategy(min_params=0)


@pytest.mark.parametrize(("env", "given", "expected"), [({"TESLA_DIST_TIMEOUT": "7.5"}, None, 7.5),
                                                     ({"TESLA_DIST_TIMEOUT": "7.5"}, 3.0, 3.0), ({}, None, None)])
def test_the_collective_timeout_reaches_init_process_group(monkeypatch, env, given, expected):
    # what `tesla train --dist-timeout S` / launch(dist_timeout=S) sets for the processes; an explicit timeout_s wins
    import torch.distributed as dist

    seen = {}

    class Stop(Exception):
        pass

    def fake_init(backend, **kwargs):
        seen.update(kwargs, backend=backend)
        raise Stop

    for key, value in {"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "0", **env}.items():
        monkeypatch.setenv(key, value)
    if not env:
        monkeypatch.delenv("TESLA_DIST_TIMEOUT", raising=False)
    monkeypatch.setattr(dist, "is_initialized", lambda: False)
    monkeypatch.setattr(dist, "init_process_group", fake_init)
    with pytest.raises(Stop):
        DDPStrategy(timeout_s=given).setup("cpu")
    assert seen["backend"] == "gloo"
    assert (seen["timeout"].total_seconds() if "timeout" in seen else None) == expected
    monkeypatch.setenv("TESLA_DIST_TIMEOUT", "-1")
    with pytest.raises(ConfigError, match=r"TESLA_DIST_TIMEOUT must be a positive number of seconds; got '-1'"):
        DDPStrategy().setup("cpu")


def test_fsdp_refuses_an_optimizer_instance():
    model = torch.nn.Linear(2, 1)
    with pytest.raises(ConfigError, match=r"optimizer is built after the parameters are sharded, so it cannot be "
                                          r"an instance \(SGD\); pass its name or class"):
        Trainer(strategy="fsdp").fit(model, torch.randn(8, 2), torch.randn(8),
                                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1))


def test_each_rank_picks_its_own_device(monkeypatch):
    assert _rank_device("cpu", 3) == torch.device("cpu")
    with pytest.raises(ConfigError, match=r"each process picks its own device .* got 'cuda:1'"):
        _rank_device("cuda:1", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert _rank_device("auto", 1) == torch.device("cuda", 1)
    with pytest.raises(ConfigError, match=r"LOCAL_RANK=3 but only 2 CUDA devices are visible .* at most 2"):
        _rank_device("cuda", 3)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # CUDA_VISIBLE_DEVICES gave each process one GPU
    assert _rank_device("auto", 3) == torch.device("cuda", 0)


def test_device_cuda_without_cuda_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"device='cuda' but CUDA is not available"):
        _rank_device("cuda", 0)
    assert _rank_device("auto", 1) == torch.device("cpu")


# ---------------------------------------------------------------------------------------------- batch sharding
def _rank_batches(n, batch_size, world, shuffle):
    data = _Data(X=torch.arange(n), Y=torch.arange(n))
    out = []
    for rank in range(world):
        g = torch.Generator().manual_seed(7)  # same seed on every rank, as the trainer does
        out.append(list(data.shard_batches(batch_size, rank, world, shuffle, g)))
    single = [xb for xb, _ in data.batches(batch_size, shuffle, torch.Generator().manual_seed(7))]
    return out, single


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 60), batch_size=st.integers(1, 17), world=st.integers(1, 5), shuffle=st.booleans())
def test_ranks_split_each_global_batch_into_disjoint_slices(n, batch_size, world, shuffle):
    per_rank, single = _rank_batches(n, batch_size, world, shuffle)
    assert all(len(batches) == len(single) for batches in per_rank)  # every rank takes every step
    for step, expected in enumerate(single):
        parts = [per_rank[r][step] for r in range(world)]
        real = [x for x, _, count, _ in parts if count]
        assert torch.equal(torch.cat(real), expected)  # disjoint, in order, and together the one-process batch
        for x, y, count, weight in parts:
            assert torch.equal(x, y)
            if count:  # mean over ranks of weight * (own mean gradient) = the mean gradient over the whole batch
                assert len(x) == count and math.isclose(weight, count * world / len(expected))
            else:  # a rank left out of a small batch still steps, on one sample that does not count
                assert len(x) == 1 and weight == 0.0


# ------------------------------------------------------------------------------------------- real torchrun runs
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_script(out: Path, nproc: int = 2, device: str = "cpu"):
    result = launch(SCRIPT, [str(out)], nproc=nproc, rdzv_endpoint=f"127.0.0.1:{_free_port()}", timeout=240,
                    env={"OMP_NUM_THREADS": "1", "TESLA_TEST_DEVICE": device})
    assert result.ok, f"torchrun failed (rank {result.failed_rank}):\n{result.error}"
    return out


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    return _run_script(tmp_path_factory.mktemp("ddp"))


@pytest.fixture(scope="module")
def reference():
    """One process, same seed, same global batch: 3 epochs, and 4 epochs for the resumed run."""
    X, y, Xv, yv = ddp_script.make_data()
    runs = {}
    for epochs in (3, 4):
        model = ddp_script.make_model(seed=0)
        h = Trainer(device="cpu", seed=0, strategy="single").fit(
            model, X, y, **{**ddp_script.FIT, "epochs": epochs, "validation_data": (Xv, yv)})
        runs[epochs] = ({k: v.detach().clone() for k, v in model.state_dict().items()}, h.history)
    model = ddp_script.make_model(seed=0)
    h = Trainer(device="cpu", seed=0, callbacks=[EarlyStopping(monitor="loss", mode="max", patience=5)]).fit(
        model, X, y, **{**ddp_script.FIT, "epochs": 2})
    runs["early_stopping"] = ({k: v.detach().clone() for k, v in model.state_dict().items()}, h.history)
    return runs


def _result(out: Path, name: str, rank: int):
    return torch.load(out / f"{name}-rank{rank}.pt"), json.loads((out / f"{name}-rank{rank}.json").read_text())


def _max_diff(a, b):
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ddp", "fsdp"])
def test_two_processes_reach_the_one_process_weights(ddp_run, reference, name):
    for rank in (0, 1):
        weights, info = _result(ddp_run, name, rank)
        assert (info["rank"], info["world_size"]) == (rank, 2)
        assert _max_diff(weights, reference[3][0]) < 1e-5  # ranks started from different weights (DDP syncs)


@pytest.mark.slow
def test_epoch_metrics_are_means_over_all_ranks(ddp_run, reference):
    history = reference[3][1]
    _, rank0 = _result(ddp_run, "ddp", 0)
    _, rank1 = _result(ddp_run, "ddp", 1)
    for key in ("loss", "mae", "val_loss", "val_mae"):
        # each rank saw only half of the data: matching the one-process value needs the all-reduce
        assert rank0["history"][key] == pytest.approx(history[key], rel=1e-5)
        assert rank1["history"][key] == rank0["history"][key]


@pytest.mark.slow
def test_only_rank_zero_writes_checkpoints_and_logs(ddp_run, reference):
    assert not (ddp_run / "saved-by-rank1.txt").exists()
    saved = (ddp_run / "saved-by-rank0.txt").read_text().split()
    assert {"checkpoint-epoch0003.pt", "checkpoint-epoch0004.pt", "best.pt"} <= set(saved)
    assert (ddp_run / "log-rank0.txt").is_file() and not (ddp_run / "log-rank1.txt").exists()  # rank_zero_only
    assert (ddp_run / "every-rank1.txt").is_file()  # other callbacks run on every rank, with the same logs
    assert (ddp_run / "every-rank0.txt").read_text() != ""
    assert sorted(p.name for p in (ddp_run / "mc").iterdir()) == ["best.pt", "checkpoint-epoch0003.pt"]  # keep=1
    plain = ddp_script.make_model(seed=5)
    ckpt = load_checkpoint(ddp_run / "ckpt" / "checkpoint-epoch0003.pt", model=plain)  # unwrapped keys
    assert _max_diff(plain.state_dict(), reference[3][0]) < 1e-5
    assert ckpt["extra"]["trainer"]["strategy"] == "ddp" and ckpt["extra"]["trainer"]["world_size"] == 2


@pytest.mark.slow
def test_ddp_run_resumes_exactly_from_rank_zero_checkpoint(ddp_run, reference):
    for rank in (0, 1):
        weights, info = _result(ddp_run, "resume", rank)
        assert info["epochs_done"] == 4 and len(info["history"]["loss"]) == 4
        assert _max_diff(weights, reference[4][0]) < 1e-5


@pytest.mark.slow
def test_stop_on_rank_zero_stops_every_rank(ddp_run):
    for rank in (0, 1):
        _, at_epoch = _result(ddp_run, "stop_epoch", rank)
        assert at_epoch["epochs_done"] == 2  # stopped after epoch 1 of 50; rank 1 never saw the callback
        _, at_step = _result(ddp_run, "stop_step", rank)
        # stop asked after step 2; flags compared every 2 steps: all ranks leave at step 4, in epoch 0
        assert (at_step["epochs_done"], at_step["global_step"]) == (1, 4)
        # stop asked before epoch 2's first step: all ranks leave at its step 0; no epoch without a step (NaN loss)
        _, before = _result(ddp_run, "stop_before", rank)
        assert (before["epochs_done"], before["global_step"]) == (2, 2 * 5)  # 49 samples, batches of 12: 5 steps
        assert len(before["history"]["loss"]) == 2 and all(math.isfinite(v) for v in before["history"]["loss"])
    assert [p.name for p in (ddp_run / "stop_before_ckpt").iterdir()] == ["checkpoint-epoch0002.pt"]


@pytest.mark.slow
def test_dataset_is_sharded_but_a_plain_dataloader_is_refused(ddp_run):
    for rank in (0, 1):
        assert "has no DistributedSampler; pass the Dataset itself" in (ddp_run / f"loader_error-rank{rank}.txt"
                                                                          ).read_text()
    w0, info = _result(ddp_run, "dataset", 0)
    w1, _ = _result(ddp_run, "dataset", 1)
    assert _max_diff(w0, w1) == 0.0  # replicas stay identical
    assert info["global_step"] == 3 * 5  # 49 samples -> 25 per rank in batches of 12 // 2


@pytest.mark.slow
def test_fsdp_checkpoint_holds_the_full_gathered_state(ddp_run, reference):
    ckpt = torch.load(ddp_run / "fsdp_ckpt" / "checkpoint-epoch0003.pt", weights_only=True)
    assert _max_diff(ckpt["model"], reference[3][0]) < 1e-5
    assert set(ckpt["optimizer"]["state"]) == set(reference[3][0])  # Adam state of every parameter, by name
    for rank in (0, 1):
        assert "does not support fp16 loss scaling" in (ddp_run / f"fsdp_fp16_error-rank{rank}.txt").read_text()


@pytest.mark.slow
def test_fsdp_early_stopping_restores_gathered_best_weights(ddp_run, reference):
    expected = reference["early_stopping"][0]  # the weights after epoch 0
    for rank in (0, 1):
        weights, _ = _result(ddp_run, "fsdp_es", rank)
        assert _max_diff(weights, expected) < 1e-5
    ckpt = torch.load(ddp_run / "fsdp_es_ckpt" / "checkpoint-epoch0002.pt", weights_only=True)  # plain tensors
    (best,) = [state["best_weights"] for key, state in ckpt["extra"]["callbacks"].items() if "EarlyStopping" in key]
    assert _max_diff(best, expected) < 1e-5


@pytest.mark.slow
def test_launch_reports_the_first_failing_rank(tmp_path):
    result = launch(SCRIPT, ["fail", str(tmp_path)], nproc=2, timeout=120, env={"OMP_NUM_THREADS": "1"})
    assert result.returncode != 0 and not result.ok
    assert result.failed_rank == 1
    assert "ValueError: boom from rank 1" in result.error
    assert (result.log_dir / "").is_dir()  # kept for inspection after a failure
    shutil.rmtree(result.log_dir)


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_ddp_and_fsdp_on_gpus_match_one_process(tmp_path, reference):
    nproc = min(2, torch.cuda.device_count())
    out = _run_script(tmp_path, nproc=nproc, device="auto")  # NCCL, cuda:LOCAL_RANK
    for name in ("ddp", "fsdp", "resume"):
        for rank in range(nproc):
            weights, info = _result(out, name, rank)
            assert info["world_size"] == nproc
            assert _max_diff(weights, reference[4 if name == "resume" else 3][0]) < 1e-4
    assert os.path.isfile(out / "fsdp_ckpt" / "checkpoint-epoch0003.pt")
