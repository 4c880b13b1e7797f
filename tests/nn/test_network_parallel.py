"""TensorNetwork's data_parallel / model_parallel flags: inactive (with one warning) in one process, DDP and FSDP on
the flagged layer under torchrun with 2 gloo processes, matching one process."""

import importlib.util
import json
import socket
import warnings
from pathlib import Path

import pytest
import torch

import tesla_lab as tesla
from tesla_lab.errors import ConfigError
from tesla_lab.nn.parallel import ModelParallel
from tesla_lab.train import Trainer
from tesla_lab.train.launch import launch
from tesla_lab.train.model_parallel import ModelParallelStrategy, sharded_blocks

SCRIPT = Path(__file__).with_name("network_parallel_script.py")
_spec = importlib.util.spec_from_file_location("network_parallel_script", SCRIPT)
script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(script)


# ------------------------------------------------------------------------------------------------ one process
@pytest.mark.parametrize("flag", ["data_parallel", "model_parallel"])
def test_one_process_trains_normally_and_warns_once_that_the_flag_is_inactive(flag):
    X, y = script.make_data()
    net = script.make_net(flag)
    plain = script.make_net("checkpoint_gradients")  # same weights, no parallel flag
    with pytest.warns(UserWarning, match=rf"{flag}=True is inactive: this is one process") as seen:
        net.fit(X, y, **script.FIT)
        net.fit(X, y, epochs=1)  # a second fit does not repeat it
    assert sum(f"{flag}=True is inactive" in str(w.message) for w in seen) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no flag, no warning
        plain.fit(X, y, **script.FIT)
        plain.fit(X, y, epochs=1)
    assert net.history.params.get("strategy") is None  # one process: no distributed strategy ran
    for (k, a), b in zip(net.state_dict().items(), plain.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6), k  # the flag changes nothing in one process


def test_model_parallel_marks_the_block_that_the_strategy_shards():
    net = script.make_net("model_parallel")
    assert isinstance(net.body[1], ModelParallel)
    assert [name for name, _ in sharded_blocks(net)] == ["body.1"]
    assert "model_parallel" in net.summary().rows[1].flags
    assert "Parallel: model_parallel=True is inactive" in str(net.summary())


def test_model_parallel_strategy_needs_a_marked_block():
    with pytest.raises(ConfigError, match="strategy='model_parallel' shards the blocks marked ModelParallel, but this "
                                          "model has none"):
        ModelParallelStrategy().wrap(torch.nn.Linear(2, 2), torch.device("cpu"))


def test_model_parallel_strategy_is_chosen_by_name():
    assert Trainer(strategy="model_parallel").strategy == "model_parallel"
    from tesla_lab.train.distributed import get_strategy

    assert isinstance(get_strategy("model_parallel"), ModelParallelStrategy)


# ----------------------------------------------------------------------------------- 2 processes with torchrun
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("tn_parallel")
    result = launch(SCRIPT, [str(out)], nproc=2, rdzv_endpoint=f"127.0.0.1:{_free_port()}", timeout=300,
                    env={"OMP_NUM_THREADS": "1"})
    assert result.ok, f"torchrun failed (rank {result.failed_rank}):\n{result.error}"
    return out


def _reference(flag: str) -> dict[str, torch.Tensor]:
    X, y = script.make_data()
    net = script.make_net(flag)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "inactive in one process"
        net.fit(X, y, **script.FIT)
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _result(out: Path, flag: str, rank: int):
    return torch.load(out / f"{flag}-rank{rank}.pt"), json.loads((out / f"{flag}-rank{rank}.json").read_text())


def _max_diff(a, b) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.mark.slow
def test_data_parallel_trains_with_ddp_and_reaches_the_one_process_weights(two_process_run):
    expected = _reference("data_parallel")
    for rank in (0, 1):
        weights, info = _result(two_process_run, "data_parallel", rank)
        assert (info["strategy"], info["world_size"]) == ("ddp", 2)
        assert _max_diff(weights, expected) < 1e-5  # the ranks started from different weights


@pytest.mark.slow
def test_model_parallel_shards_the_layer_over_the_ranks_and_matches_one_process(two_process_run):
    expected = _reference("model_parallel")
    stored = []
    for rank in (0, 1):
        weights, info = _result(two_process_run, "model_parallel", rank)
        assert (info["strategy"], info["world_size"]) == ("model_parallel", 2)
        assert _max_diff(weights, expected) < 1e-5
        assert len(set(info["stored"])) == 1  # the same shard every epoch
        stored.append(info["stored"][0])
    full = info["full"]
    assert sum(stored) == full  # the shards partition the layer: nothing is stored twice
    for count in stored:
        assert abs(count - full / 2) <= 0.1 * full  # each rank holds about half of the layer's parameters


def test_flags_show_the_active_strategy_in_the_summary(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    net = tesla.TensorNetwork(8, 8, 2).add_layer(input_dim=8, output_dim=8, model_parallel=True)
    assert "Parallel: DDP over 2 processes; hidden1 sharded over them (FSDP)" in str(net.summary())


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA devices")
def test_flags_on_two_gpus_match_one_process(tmp_path):
    result = launch(SCRIPT, [str(tmp_path)], nproc=2, rdzv_endpoint=f"127.0.0.1:{_free_port()}", timeout=300)
    assert result.ok, f"torchrun failed (rank {result.failed_rank}):\n{result.error}"  # NCCL, cuda:LOCAL_RANK
    for flag in ("data_parallel", "model_parallel"):
        expected = {k: v.cpu() for k, v in _reference(flag).items()}
        for rank in (0, 1):
            weights, info = _result(tmp_path, flag, rank)
            assert info["world_size"] == 2 and _max_diff(weights, expected) < 1e-4
