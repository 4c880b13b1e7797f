"""Process helpers shared by the job runners (training workers, papermill runs, the scheduler)."""

from __future__ import annotations

import os

__all__ = ["pid_alive"]


def pid_alive(pid: int | None) -> bool:
    """True while process ``pid`` exists (also when another user owns it); ``None``/0 is never alive.

    >>> pid_alive(os.getpid()), pid_alive(None)
    (True, False)
    """
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True
