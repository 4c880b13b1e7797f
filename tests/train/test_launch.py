"""The torchrun launcher: argument lists, validation, and failure reports (torchrun itself is faked here; the real
one runs in test_distributed.py)."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import tesla_lab.train.launch as launch_module
from tesla_lab.errors import ConfigError
from tesla_lab.train.launch import LaunchError, first_failure, launch, torchrun_command

PY = "python"


def test_one_node_gets_a_private_rendezvous():
    assert torchrun_command("train.py", ["--lr", "0.1"], nproc=4, python=PY) == [
        PY, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "4", "--standalone",
        "--max-restarts", "0", "train.py", "--lr", "0.1"]


def test_multi_node_flags_pass_through():
    cmd = torchrun_command("train.py", nproc="gpu", nnodes=2, rdzv_endpoint="10.0.0.1:29500", rdzv_id="job7",
                           node_rank=1, max_restarts=3, python=PY)
    assert cmd == [PY, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "gpu", "--rdzv-backend",
                   "c10d", "--rdzv-endpoint", "10.0.0.1:29500", "--rdzv-id", "job7", "--rdzv-conf", "is_host=0",
                   "--max-restarts", "3", "train.py"]
    host = torchrun_command("train.py", nnodes=2, rdzv_endpoint="10.0.0.1:29500", node_rank=0, python=PY)
    assert host[host.index("--rdzv-conf") + 1] == "is_host=1" and "--node-rank" not in host
    elastic = torchrun_command("train.py", nnodes="1:4", rdzv_endpoint="[::1]:29500", python=PY)
    assert elastic[3:5] == ["--nnodes", "1:4"] and "[::1]:29500" in elastic


def test_module_or_script_is_guessed_and_can_be_forced(tmp_path):
    assert torchrun_command("tesla_lab.cli", ["train"], python=PY)[-3:] == ["-m", "tesla_lab.cli", "train"]
    assert "-m" not in torchrun_command("train.py", python=PY)[3:]
    script = tmp_path / "run_me"  # an existing file without .py is a script
    script.write_text("")
    assert torchrun_command(script, python=PY)[-1] == str(script) and "-m" not in torchrun_command(script)[3:]
    assert torchrun_command("pkg.mod", module=False, python=PY)[-2:] == ["0", "pkg.mod"]
    assert torchrun_command("train.py", log_dir="/tmp/logs", python=PY)[-5:-1] == ["--log-dir", "/tmp/logs",
                                                                                    "--tee", "3"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"nproc": 0}, r"nproc must be an integer >= 1 .* got 0"),
    ({"nproc": "two"}, r"nproc must be an integer >= 1 .* got 'two'"),
    ({"nnodes": 0}, r"nnodes must be an integer >= 1 or an elastic range 'MIN:MAX' .* got 0"),
    ({"nnodes": "4:1"}, r"nnodes must be .* got '4:1'"),
    ({"nnodes": 2}, r"nnodes=2 needs rdzv_endpoint='HOST:PORT'"),
    ({"nnodes": 2, "rdzv_endpoint": "node0"}, r"rdzv_endpoint must be 'HOST:PORT' .* got 'node0'"),
    ({"rdzv_endpoint": "node0:99999"}, r"rdzv_endpoint must be 'HOST:PORT' .* got 'node0:99999'"),
    ({"nnodes": 2, "rdzv_endpoint": "n:1", "node_rank": 2}, r"node_rank must be an integer in 0..1 \(nnodes=2\)"),
    ({"max_restarts": -1}, r"max_restarts must be an integer >= 0; got -1"),
])
def test_bad_launch_options_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        torchrun_command("train.py", **kwargs)


def test_target_and_args_are_checked():
    with pytest.raises(ConfigError, match=r"needs a script path or a module name"):
        torchrun_command("")
    with pytest.raises(ConfigError, match=r"args must be a list of strings .* got '--lr 0.1'"):
        torchrun_command("train.py", "--lr 0.1")


# ------------------------------------------------------------------------------------------ faked torchrun runs
def _write_rank(log_dir: Path, local_rank: int, text: str, age_s: float) -> None:
    d = log_dir / "tesla_abc" / "attempt_0" / str(local_rank)
    d.mkdir(parents=True, exist_ok=True)
    (d / "stderr.log").write_text(text)
    t = time.time() - age_s
    os.utime(d / "stderr.log", (t, t))


REAL = "[rank3]: Traceback (most recent call last):\n[rank3]:   File \"t.py\", line 1\n[rank3]: KeyError: 'w'\n"
CAUSED = ("[rank2]: Traceback (most recent call last):\n[rank2]:   File \"t.py\", line 9\n"
          "[rank2]: RuntimeError: Read error [127.0.0.1]:38292: Connection reset by peer\n")


class FakeTorchrun:
    """Stands in for subprocess.Popen: records the call and writes per-rank logs like torchrun --tee."""

    def __init__(self, returncode=0, ranks=(), wait_error=None):
        self.returncode, self.ranks, self.wait_error, self.calls = returncode, ranks, wait_error, []

    def __call__(self, cmd, env=None, cwd=None, start_new_session=False):
        self.calls.append({"cmd": cmd, "env": env, "new_session": start_new_session})
        if "--log-dir" in cmd:
            log_dir = Path(cmd[cmd.index("--log-dir") + 1])
            for local_rank, text, age in self.ranks:
                _write_rank(log_dir, local_rank, text, age)
        self.pid = -1
        return self

    def wait(self, timeout=None):
        if self.wait_error is not None:
            raise self.wait_error
        return self.returncode


def test_the_first_real_error_is_reported_not_the_ones_it_caused(monkeypatch):
    # rank 2's "connection reset" is even older on disk; the KeyError is still the cause
    fake = FakeTorchrun(1, [(0, CAUSED, 5.0), (1, REAL, 1.0)])
    monkeypatch.setattr(launch_module.subprocess, "Popen", fake)
    result = launch("t.py", nproc=2)
    assert (result.returncode, result.ok, result.failed_rank) == (1, False, 3)  # global rank from the prefix
    assert result.error.endswith("KeyError: 'w'") and "[rank" not in result.error
    assert result.log_dir.is_dir()  # kept for inspection
    assert fake.calls[0]["new_session"] and "--tee" in fake.calls[0]["cmd"]
    package_root = str(Path(launch_module.__file__).resolve().parents[2])
    assert fake.calls[0]["env"]["PYTHONPATH"].split(os.pathsep)[0] == package_root
    shutil.rmtree(result.log_dir)


def test_check_raises_with_the_failing_rank(monkeypatch):
    monkeypatch.setattr(launch_module.subprocess, "Popen", FakeTorchrun(1, [(0, REAL, 1.0)]))
    with pytest.raises(LaunchError, match=r"(?s)failed with exit code 1; rank 3 failed first:\nTraceback .*KeyError"
                       ) as info:
        launch("t.py", check=True)
    assert info.value.result.failed_rank == 3
    shutil.rmtree(info.value.result.log_dir)


def test_a_failure_without_traceback_says_so(monkeypatch):
    monkeypatch.setattr(launch_module.subprocess, "Popen", FakeTorchrun(-9))
    result = launch("t.py")
    assert result.failed_rank is None and "no process wrote a Python traceback" in result.error
    shutil.rmtree(result.log_dir)


def test_success_removes_the_logs(monkeypatch):
    fake = FakeTorchrun(0)
    monkeypatch.setattr(launch_module.subprocess, "Popen", fake)
    result = launch("t.py", capture_errors=True)
    cmd = fake.calls[0]["cmd"]
    assert result.ok and result.error is None and not Path(cmd[cmd.index("--log-dir") + 1]).exists()
    launch("t.py", capture_errors=False)
    assert "--log-dir" not in fake.calls[1]["cmd"]


def test_timeout_and_ctrl_c_stop_the_whole_job(monkeypatch):
    stopped = []
    monkeypatch.setattr(launch_module, "_stop", lambda proc: stopped.append(proc))
    monkeypatch.setattr(launch_module.subprocess, "Popen",
                        FakeTorchrun(wait_error=subprocess.TimeoutExpired("torchrun", 5)))
    result = launch("t.py", timeout=5)
    assert result.returncode == 124 and "did not finish within timeout=5 s" in result.error and len(stopped) == 1
    shutil.rmtree(result.log_dir)
    monkeypatch.setattr(launch_module.subprocess, "Popen", FakeTorchrun(wait_error=KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        launch("t.py")
    assert len(stopped) == 2


def test_first_failure_of_an_empty_log_dir(tmp_path):
    assert first_failure(tmp_path) == (None, None)
