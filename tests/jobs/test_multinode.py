"""Multi-node training: `tesla train --nodes 2 --node-rank K --master 127.0.0.1:PORT` twice on this machine (two
"nodes", one gloo process each, c10d rendezvous) against one process; a node killed mid-run, then the run resumed
on two nodes again (`tesla train --resume RUN_ID --nodes 2 ...`)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.jobs.multinode import train_on_nodes
from tesla_lab.store import Project
from tesla_lab.store.resume import checkpoint_epoch
from tesla_lab.workflow import load_registered, train_model

ROOT = str(Path(__file__).resolve().parents[2])
TRAIN = ["-d", "iris", "--seed", "0", "--batch-size", "8", "-q"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _node(project: Path, rank: int, port: int, *args: str) -> subprocess.Popen:
    """One "node": `tesla train ... --nodes 2 --node-rank RANK` in its own session (killed as a whole)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "tesla_lab.cli", "--project", str(project), "train", *args, "--nodes", "2",
           "--node-rank", str(rank), "--master", f"127.0.0.1:{port}", "--dist-timeout", "20", "--join-timeout", "90"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _start_two(project: Path, *args: str) -> tuple[subprocess.Popen, subprocess.Popen]:
    port = _free_port()
    node0 = _node(project, 0, port, *args)
    # node 0's torchrun agent starts first: the rendezvous ranks agents by pid, so rank 0 (which records the run)
    # is on node 0, which also hosts the rendezvous store
    deadline = time.monotonic() + 60
    while not psutil.Process(node0.pid).children() and time.monotonic() < deadline:
        time.sleep(0.1)
    return node0, _node(project, 1, port, *args)


def _weights(bundle) -> dict:
    return {k: v.detach().clone() for k, v in bundle.estimator.module.state_dict().items()}


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """One process, same config: 4 epochs (the two-node run) and 40 (the run a lost node interrupts)."""
    project = Project.init(tmp_path_factory.mktemp("one") / "proj")
    runs = {}
    for epochs in (4, 40):
        result = train_model(project, {"dataset": "iris", "epochs": epochs, "seed": 0, "batch_size": 8},
                             name=f"ref{epochs}")
        runs[epochs] = _weights(result.bundle)
    return runs


@pytest.mark.slow
def test_two_nodes_reach_the_one_process_weights(tmp_path, reference):
    project = Project.init(tmp_path / "proj")
    nodes = _start_two(project.path, "-m", "iris-mlp", "-p", "4", *TRAIN)
    outputs = [node.communicate(timeout=240) for node in nodes]
    for node, (_, err) in zip(nodes, outputs):
        assert node.returncode == 0, err[-3000:]
    assert "trained iris-mlp v1 on iris@1" in outputs[0][0] and "node 0 of 2: 1 process(es) done" in outputs[0][0]
    assert "rank 1: trained its share of iris-mlp; rank 0 records the run" in outputs[1][0]
    runs = project.runs()
    assert len(runs) == 1  # rank 1 wrote nothing to the store
    run = project.get_run(runs["id"][0])
    assert run.status == "finished" and len(run.history()) == 4
    bundle = load_registered(project, "iris-mlp")
    assert _max_diff(_weights(bundle), reference[4]) < 1e-5


@pytest.mark.slow
def test_a_lost_node_fails_the_run_with_its_cause_and_resume_continues_it(tmp_path, reference):
    project = Project.init(tmp_path / "proj")
    config = tmp_path / "train.yaml"
    config.write_text("checkpoint_every: 1\nkeep_checkpoints: all\n")
    node0, node1 = _start_two(project.path, "-m", "iris-mlp", "-p", "40", "--config", str(config), *TRAIN)
    deadline = time.monotonic() + 240
    run = None
    while time.monotonic() < deadline:  # until rank 0 stored its first checkpoint
        ids = list(project.runs()["id"])
        if ids and (run := project.get_run(ids[0])).latest_checkpoint() is not None:
            break
        assert node0.poll() is None and node1.poll() is None, (node0.poll(), node1.poll())
        time.sleep(0.05)
    assert run is not None and run.latest_checkpoint() is not None, "no checkpoint within 240 s"
    assert run.info()["pid"] in {p.pid for p in psutil.Process(node0.pid).children(recursive=True)}
    lost = [node1.pid] + [p.pid for p in psutil.Process(node1.pid).children(recursive=True)]
    for pid in lost:  # the whole node at once: its tesla process, torchrun agent and worker
        os.kill(pid, signal.SIGKILL)
    node1.wait()
    killed_at = time.monotonic()
    out, err = node0.communicate(timeout=120)
    assert node0.returncode == 1 and time.monotonic() - killed_at < 60  # well within the 20 s timeout + shutdown
    assert "training lost a peer process" in err and f"tesla train --resume {run.id}" in err, err[-3000:]

    assert run.status == "failed"
    error = run.info()["error"]
    assert error.startswith("training lost a peer process (a node died, its network failed, or a collective timed "
                            "out): ") and f"continue it with `tesla train --resume {run.id}`" in error
    done = checkpoint_epoch(run.latest_checkpoint_name())
    assert done is not None and 1 <= done < 40
    ckpt = torch.load(run.latest_checkpoint(), weights_only=True)  # intact: a complete, loadable file
    assert ckpt["epoch"] == done and set(ckpt["model"]) == set(reference[40])

    # resumed on two nodes again: `tesla train --resume RUN_ID --nodes 2 ...` on each; rank 0 reopens the run, rank 1
    # reads the same plan (checkpoint, config) without touching the store
    nodes = _start_two(project.path, "--resume", run.id, "-q")
    outputs = [node.communicate(timeout=240) for node in nodes]
    for node, (_, err) in zip(nodes, outputs):
        assert node.returncode == 0, err[-3000:]
    assert f"trained iris-mlp v1 on iris@1 (run {run.id[:8]}, finished)" in outputs[0][0]
    assert "resumed: the same run, 40 epochs in all" in outputs[0][0]
    assert "rank 1: trained its share of iris-mlp; rank 0 records the run" in outputs[1][0]
    assert run.status == "finished" and run.resumed == 1 and len(run.history()) == 40
    assert list(project.runs()["id"]) == [run.id]  # the same run, continued in place
    bundle = load_registered(project, "iris-mlp")
    # two processes all along, the second launch from the checkpoint: the same weights as one process
    assert _max_diff(_weights(bundle), reference[40]) < 1e-4


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"nodes": 0}, r"nodes must be an integer >= 1 \(machines taking part\); got 0"),
    ({"nodes": 2}, r"nodes=2 needs master='HOST:PORT': the address of node 0"),
    ({"nodes": 2, "master": "10.0.0.1:29500"}, r"nodes=2 needs node_rank: 0 on the machine whose address is master"),
    ({"nodes": 2, "master": "10.0.0.1:29500", "node_rank": 2}, r"node_rank must be an integer in 0..1 \(nnodes=2\)"),
    ({"nodes": 2, "master": "node0", "node_rank": 0}, r"rdzv_endpoint must be 'HOST:PORT' .* got 'node0'"),
    ({"nproc": 0}, r"nproc must be an integer >= 1 \(processes per node"),
    ({"dist_timeout": 0}, r"dist_timeout must be a positive number of seconds; got 0"),
    ({"config": {"framework": "scikit-learn", "family": "sklearn:ridge"}},
     r"sklearn:ridge is fitted in one go by one process; several processes"),
])
def test_bad_multinode_options_are_refused_before_anything_starts(tmp_path, kwargs, message, monkeypatch):
    monkeypatch.setattr("tesla_lab.train.launch.subprocess.Popen", None)  # nothing may be started
    with pytest.raises(ConfigError, match=message):
        train_on_nodes(tmp_path, kwargs.pop("config", {"epochs": 1}), name="m", **kwargs)


@pytest.mark.parametrize("rank", ["0", "1"])
def test_a_scikit_learn_model_under_torchrun_is_refused_on_every_rank_before_anything_is_stored(tmp_path, monkeypatch,
                                                                                               rank):
    project = Project.init(tmp_path / "proj")
    for key, value in {"RANK": rank, "WORLD_SIZE": "2", "LOCAL_RANK": rank}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match=r"sklearn:ridge is a scikit-learn model, fitted in one go by one process; "
                                          r"several processes \(--nproc/--nodes, torchrun\) train torch and tt"):
        train_model(project, {"dataset": "diabetes", "framework": "scikit-learn", "family": "sklearn:ridge"},
                    name="ridge")
    assert project.runs().empty and project.datasets.list_datasets().empty
