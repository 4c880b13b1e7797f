"""tesla_lab.jobs._leash: a module run on a leash stops, with its process group, when its parent dies."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tesla_lab.jobs

from .conftest import running_members

LEASH = str(Path(tesla_lab.jobs.__file__).with_name("_leash.py"))

pytestmark = pytest.mark.skipif(os.name != "posix", reason="the leash watches the parent on POSIX only")

NAPPER = """import json, os, signal, sys, time
if "--stubborn" in sys.argv:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
with open("started.json", "w") as fh:
    json.dump({"argv": sys.argv, "group": os.getpgrp(), "name": __name__}, fh)
try:
    time.sleep(float(sys.argv[1]))
except KeyboardInterrupt:
    open("interrupted", "w").close()
    raise
open("done", "w").close()
"""


def _wait_for(path, within=60):
    deadline = time.monotonic() + within
    while not (path.is_file() and path.read_text()):
        assert time.monotonic() < deadline, f"{path.name} did not appear within {within} s"
        time.sleep(0.05)
    return json.loads(path.read_text())


def test_a_leashed_module_runs_as_python_dash_m_would(tmp_path):
    (tmp_path / "napper.py").write_text(NAPPER)
    proc = subprocess.run([sys.executable, LEASH, str(os.getpid()), "-m", "napper", "0", "--flag"], cwd=tmp_path,
                          timeout=60)
    assert proc.returncode == 0 and (tmp_path / "done").is_file()
    assert json.loads((tmp_path / "started.json").read_text())["argv"][1:] == ["0", "--flag"]
    assert json.loads((tmp_path / "started.json").read_text())["name"] == "__main__"


def _kill_parent_of_leashed_napper(tmp_path, *args, ignore_sigint=False):
    """Start parent -> leash -> napper, SIGKILL the parent; the napper's process group. ``ignore_sigint``: the
    parent ignores SIGINT, as a job started in the background by a shell does (children inherit that)."""
    (tmp_path / "napper.py").write_text(NAPPER)
    parent = subprocess.Popen([sys.executable, "-c", (
        "import os, signal, subprocess, sys, time\n"
        + ("signal.signal(signal.SIGINT, signal.SIG_IGN)\n" if ignore_sigint else "") +
        f"subprocess.Popen([sys.executable, {LEASH!r}, str(os.getpid()), '-m', 'napper', '60', *{args!r}], "
        "start_new_session=True)\n"
        "time.sleep(60)")], cwd=tmp_path)
    try:
        return _wait_for(tmp_path / "started.json")["group"]
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()


def _seconds_until_gone(group, within):
    began = time.monotonic()
    try:
        while True:
            if not running_members(group):
                return time.monotonic() - began
            assert time.monotonic() - began < within, "the leashed module outlived its killed parent"
            time.sleep(0.1)
    finally:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.parametrize("ignore_sigint", [False, True], ids=["plain", "started-with-sigint-ignored"])
def test_a_leashed_module_stops_with_its_group_when_the_parent_is_killed(tmp_path, ignore_sigint):
    group = _kill_parent_of_leashed_napper(tmp_path, ignore_sigint=ignore_sigint)
    assert _seconds_until_gone(group, 8) < 8  # SIGINT within a poll, well before the SIGKILL after GRACE
    assert (tmp_path / "interrupted").is_file() and not (tmp_path / "done").exists()


@pytest.mark.slow
def test_a_module_that_ignores_sigint_is_killed_after_the_grace_period(tmp_path):
    from tesla_lab.jobs._leash import GRACE

    group = _kill_parent_of_leashed_napper(tmp_path, "--stubborn")
    assert GRACE - 1 < _seconds_until_gone(group, GRACE + 20) < GRACE + 10
    assert not (tmp_path / "interrupted").exists() and not (tmp_path / "done").exists()
