"""Run a Python module (papermill) on a leash: it, and its process group, stop when the process that started it dies.

``python .../_leash.py PARENT_PID -m MODULE ARGS...`` runs ``python -m MODULE ARGS...`` in this process, plus a
daemon thread that checks twice a second whether the parent is still ``PARENT_PID``. When the parent is gone
(SIGKILL, out of memory: it had no chance to stop its child), the thread sends SIGINT to this process's group
(papermill saves the notebook and shuts its kernel down, the kernel's cell gets a KeyboardInterrupt) and starts a
reaper (in its own session) that sends SIGKILL to the group :data:`GRACE` seconds later unless it ended by then, so
nothing of the notebook outlives its parent.

:func:`tesla_lab.jobs.notebooks.run` starts papermill this way, in its own session (so its group is exactly
papermill and the kernel). The file is run by its path, not as ``-m tesla_lab...``: it needs only the standard
library, so the leash adds no import time to the notebook. POSIX only; elsewhere the module runs unleashed.
"""

from __future__ import annotations

import os
import runpy
import signal
import subprocess
import sys
import threading
import time

#: seconds between checks of the parent
POLL = 0.5
#: seconds the group gets after SIGINT before SIGKILL
GRACE = 10.0


_REAPER = """import os, signal, time
deadline = time.monotonic() + {grace}
try:
    while time.monotonic() < deadline:
        os.killpg({group}, 0)
        time.sleep(0.2)
    os.killpg({group}, signal.SIGKILL)
except OSError:
    pass
"""


def _watch(parent: int) -> None:
    # SIGINT blocked in this thread: the kernel then delivers the group's SIGINT (below) to the main thread, whose
    # blocking call it interrupts; handled here it would only set Python's flag and the main thread could sleep on
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    while os.getppid() == parent:
        time.sleep(POLL)
    group = os.getpgrp()
    sys.stderr.write(f"tesla: the process that started this notebook (pid {parent}) ended; stopping the notebook\n")
    sys.stderr.flush()
    # the reaper, in its own session (the SIGINT must not reach it): SIGKILL to the group after GRACE seconds
    # unless it is gone by then
    subprocess.Popen([sys.executable, "-c", _REAPER.format(group=group, grace=GRACE)], stdin=subprocess.DEVNULL,
                     start_new_session=True)
    os.killpg(group, signal.SIGINT)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: _leash.py PARENT_PID -m MODULE [ARGS...]")
    parent, module = int(argv[0]), argv[2]
    sys.path[0] = os.getcwd()  # as `python -m MODULE` has it (not this file's folder)
    if os.name == "posix":
        threading.Thread(target=_watch, args=(parent,), name="tesla-leash", daemon=True).start()
    # a process started in the background by a shell (or by a parent that ignores SIGINT) inherits SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler: the stop below would do nothing until the SIGKILL
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = [module, *argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
