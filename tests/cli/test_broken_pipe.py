"""`tesla ... | head`: a reader that closes the pipe early ends the command quietly (exit 141, nothing on stderr)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run_into_closed_pipe(args, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first byte: every write is a broken pipe
    try:
        proc = subprocess.run([sys.executable, "-m", "tesla_lab.cli", *args], cwd=cwd, env=env, stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    return proc


def test_command_output_into_a_closed_pipe_is_quiet(tmp_path):
    proc = _run_into_closed_pipe(["init", "p"], tmp_path)
    assert proc.stderr == ""
    assert proc.returncode == 141
    assert (tmp_path / "p" / "tesla.yaml").is_file()  # the command itself ran; only its output had nowhere to go
