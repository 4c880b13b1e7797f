"""Micro-batching across concurrent requests: one worker thread preprocesses and runs every request waiting in its
queue as one batch, then hands each request its own rows of the output.

Preprocessing a request costs about the same for 1 row as for 100 (the pipeline works on pandas frames), and so does
a forward pass of a small model, so under load batching raises throughput without adding latency: the worker never
waits for more requests (``max_wait_s=0``), it only takes what queued up while the previous batch ran. The fitted
transforms and an eval-mode model treat rows independently, so a row's result does not depend on its batch
companions (up to float rounding of the GEMMs). If the joined batch fails (one request with an unknown category),
the requests are run one by one so each gets its own answer or error.

>>> import numpy as np, tempfile, torch
>>> from tesla_lab.serve.export import export_model
>>> from tesla_lab.serve.predictor import load_exported
>>> info = export_model(torch.nn.Linear(2, 1), torch.zeros(4, 2), tempfile.mkdtemp() + "/m", task="regression",
...                     formats=("torchscript",))
>>> batcher = MicroBatcher(load_exported(info.path))
>>> batcher.submit(np.ones((3, 2))).result().shape
torch.Size([3, 1])
>>> batcher.close()
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from typing import Any

import numpy as np
import pandas as pd
import torch

from tesla_lab.errors import ConfigError
from tesla_lab.serve.predictor import ExportedModel

__all__ = ["MicroBatcher"]

_STOP = object()


class MicroBatcher:
    """Queue of validated raw inputs (DataFrame or array) answered by one worker thread in joined batches.

    Args:
        model: the loaded export.
        max_rows: most rows joined into one batch (requests are never split).
        max_wait_s: how long the worker waits for companions after the first request of a batch; 0 (default) only
            joins what is already queued.
    """

    def __init__(self, model: ExportedModel, *, max_rows: int = 4096, max_wait_s: float = 0.0) -> None:
        if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
            raise ConfigError(f"max_rows must be a positive integer; got {max_rows!r}")
        if not max_wait_s >= 0:
            raise ConfigError(f"max_wait_s must be >= 0 seconds; got {max_wait_s!r}")
        self.model = model
        self.max_rows = max_rows
        self.max_wait_s = float(max_wait_s)
        self.batches = 0  # joined forward passes run (for tests and metrics)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="tesla-batcher", daemon=True)
        self._thread.start()

    def submit(self, raw: np.ndarray | pd.DataFrame) -> Future[torch.Tensor]:
        """Queue validated raw samples; the future resolves to the model's outputs for them (N, ...)."""
        if self._closed:
            raise ConfigError("this MicroBatcher is closed; create a new one (or a new app)")
        fut: Future[torch.Tensor] = Future()
        self._queue.put((raw, fut))
        return fut

    def close(self, timeout: float = 5.0) -> None:
        """Answer what is queued, then stop the worker."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)

    # ------------------------------------------------------------------------------------------- worker
    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            items, rows, stop = [first], len(first[0]), False
            deadline = time.monotonic() + self.max_wait_s
            while rows < self.max_rows:
                try:
                    wait = deadline - time.monotonic()
                    nxt = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stop = True
                    break
                items.append(nxt)
                rows += len(nxt[0])
            self._run(items)
            if stop:
                return

    def _run(self, items: list[tuple[Any, Future[torch.Tensor]]]) -> None:
        live = [(raw, fut) for raw, fut in items if fut.set_running_or_notify_cancel()]
        frames = all(isinstance(raw, pd.DataFrame) for raw, _ in live)
        arrays = all(isinstance(raw, np.ndarray) for raw, _ in live)
        if len(live) > 1 and (frames or arrays):
            try:
                joined = (pd.concat([raw for raw, _ in live], ignore_index=True) if frames
                          else np.concatenate([raw for raw, _ in live]))
                out = self.model.forward(self.model.preprocess(joined))
            except Exception:  # one bad request must not fail the others: they are retried one by one below
                pass
            else:
                self.batches += 1
                start = 0
                for raw, fut in live:
                    fut.set_result(out[start : start + len(raw)])
                    start += len(raw)
                return
        for raw, fut in live:
            try:
                fut.set_result(self.model.forward(self.model.preprocess(raw)))
                self.batches += 1
            except Exception as exc:  # bad input (TeslaError → 4xx) or a bug (→ 500), raised in the awaiting request
                fut.set_exception(exc)
