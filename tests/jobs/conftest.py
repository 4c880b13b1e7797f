"""Helpers shared by the job tests (real processes)."""

import os


def running_members(group):
    """Processes of ``group`` that still run: a zombie has ended (it only waits to be reaped by whichever process
    adopted it, which in a container can take a while) and does not count."""
    if not os.path.isdir("/proc/self"):
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return 0
        return 1
    running = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != b"Z":  # fields[0]: state, fields[2]: process group
            running += 1
    return running
