"""Stop a training cleanly on SIGINT (Ctrl-C) or SIGTERM: the step in progress finishes, the epoch ends there
and training stops as with :meth:`Trainer.stop`, so the callbacks still see a consistent state and can write a
checkpoint (:class:`~tesla_lab.store.StoreCallback` does) and end the run ``stopped``. A second signal interrupts
at once (``KeyboardInterrupt``). The handlers are installed only in the main thread (where Python delivers
signals) and the previous ones come back when training ends.

>>> import torch
>>> from tesla_lab.train import Trainer
>>> stopper = StopOnSignal()
>>> _ = Trainer(device="cpu", callbacks=[stopper]).fit(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8),
...                                                     epochs=1)
>>> stopper.received is None
True
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Any

from tesla_lab.train.callbacks import Callback

if TYPE_CHECKING:
    from tesla_lab.train.trainer import Trainer

__all__ = ["StopOnSignal"]

logger = logging.getLogger(__name__)

_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


class StopOnSignal(Callback):
    """Turn the first SIGINT / SIGTERM during ``fit`` into ``trainer.stop()``; ``received`` is its name then.

    The epoch in progress ends after the current step and counts as trained (its logs are written, with fewer
    samples than a full epoch); a checkpoint written after it holds that state exactly. A signal before the epoch's
    first step ends training with the epoch before it: an epoch without a step is neither logged nor counted.
    """

    def __init__(self) -> None:
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        trainer = self._trainer
        if self.received is not None or trainer is None:  # the second one: stop now
            self._restore()
            raise KeyboardInterrupt(f"{name} (second signal)")
        self.received = name
        epoch = getattr(trainer, "epoch", 0) + 1
        if getattr(trainer, "epochs_done", 0) >= epoch:  # between epochs: nothing partial
            what = f"epoch {epoch} is complete; training stops before the next one"
        else:
            what = (f"epoch {epoch} ends early after the current step (its partial progress is kept and counted as "
                    "that epoch; before its first step it is not counted)")
        logger.warning("%s: %s, then a checkpoint is written. Send it again to abort at once.", name, what)
        trainer.stop()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def on_train_begin(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        self.received = None
        self._trainer: Trainer | None = trainer
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only; a training thread keeps the default behaviour
        for signum in _SIGNALS:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def on_train_end(self, trainer: Trainer, logs: dict[str, Any] | None = None) -> None:
        self._restore()
        self._trainer = None

    def on_exception(self, trainer: Trainer, exc: BaseException) -> None:
        self._restore()
        self._trainer = None
