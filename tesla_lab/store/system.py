"""System metrics of the training process, sampled once per epoch by :class:`~tesla_lab.store.StoreCallback`, and a
model's size as run params.

``sys_cpu_percent`` is the process's CPU use since the previous sample (100 = one core busy), ``sys_rss_mb`` its
resident memory, ``sys_gpu_mem_mb`` the peak GPU memory PyTorch allocated during the epoch (CUDA only). psutil is
used when installed; without it CPU % and RSS come from ``os.times`` and ``resource`` (Unix).

>>> monitor = SystemMonitor()
>>> monitor.start("cpu")
>>> sorted(monitor.sample())
['sys_cpu_percent', 'sys_rss_mb']
>>> import torch
>>> model_size(torch.nn.Linear(4, 2))
{'n_params': 10, 'dense_params': 10, 'compression': 1.0}
"""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = ["SystemMonitor", "model_size"]


def model_size(model: Any) -> dict[str, Any]:
    """``n_params`` (stored), ``dense_params`` (the same layers as plain dense weights) and ``compression`` (their
    ratio, rounded to 4 significant digits) of a torch module."""
    from tesla_lab.nn.summary import count_params

    stored, dense = count_params(model)
    ratio = dense / stored if stored else 1.0
    return {"n_params": int(stored), "dense_params": int(dense), "compression": float(f"{ratio:.4g}")}


def _rss_bytes() -> float | None:
    try:
        import psutil

        return float(psutil.Process().memory_info().rss)
    except ImportError:
        try:
            import resource

            return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # peak, kB on Linux
        except ImportError:  # pragma: no cover - Windows without psutil
            return None


class SystemMonitor:
    """Samples the process's CPU %, RSS and (on CUDA) peak GPU memory between two calls of :meth:`sample`."""

    def __init__(self) -> None:
        self._cpu = 0.0
        self._wall = 0.0
        self._cuda: Any = None

    @staticmethod
    def _cpu_seconds() -> float:
        t = os.times()
        return t.user + t.system

    def start(self, device: Any = None) -> None:
        """Begin measuring (CPU time from now on; resets the CUDA peak of ``device`` when it is a CUDA device)."""
        self._cpu, self._wall = self._cpu_seconds(), time.perf_counter()
        self._cuda = None
        if device is not None and str(device).startswith("cuda"):
            import torch

            self._cuda = torch.device(device)
            torch.cuda.reset_peak_memory_stats(self._cuda)

    def sample(self) -> dict[str, float]:
        """The metrics since :meth:`start` or the previous sample."""
        cpu, wall = self._cpu_seconds(), time.perf_counter()
        out: dict[str, float] = {}
        if wall > self._wall:
            out["sys_cpu_percent"] = 100.0 * (cpu - self._cpu) / (wall - self._wall)
        self._cpu, self._wall = cpu, wall
        rss = _rss_bytes()
        if rss is not None:
            out["sys_rss_mb"] = rss / 2**20
        if self._cuda is not None:
            import torch

            out["sys_gpu_mem_mb"] = torch.cuda.max_memory_allocated(self._cuda) / 2**20
            torch.cuda.reset_peak_memory_stats(self._cuda)
        return out
