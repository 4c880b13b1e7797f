"""Checkpoint glue of :class:`~tesla_lab.train.Trainer`: ``save_checkpoint`` (the full-resume state of the run) and
``_resume`` (put it back: model, optimizer, scaler, history, every RNG state, callback state). The file format is
:mod:`tesla_lab.train.checkpoint`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from tesla_lab.errors import ConfigError, NotFittedError
from tesla_lab.train.callbacks import Callback, History
from tesla_lab.train.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
)

logger = logging.getLogger(__name__)


class _Checkpointing:
    """Mixin of :class:`~tesla_lab.train.Trainer`: ``save_checkpoint`` and ``_resume``."""

    def _resume(self, resume: bool | str | Path, callbacks: Sequence[Callback]) -> int | None:
        """Load the checkpoint to resume from (model, optimizer, scaler, history, every RNG state, callback state);
        return its epoch, or None when ``resume=True`` finds no checkpoint yet (a fresh start)."""
        path = latest_checkpoint(self.checkpoint_dir) if resume is True else Path(resume)  # type: ignore[arg-type]
        if path is None:
            logger.info("no checkpoint in %s yet; starting from epoch 0", self.checkpoint_dir)
            return None
        if self._strategy.shards_parameters:  # every rank reads the full state and keeps its own shard of it
            ckpt = load_checkpoint(path, scaler=self.scaler)
            self._strategy.load_checkpoint_state(self.model, self.optimizer, ckpt)  # type: ignore[arg-type]
        else:
            ckpt = load_checkpoint(path, model=self.model, optimizer=self.optimizer, scaler=self.scaler)
        restore_rng_state(ckpt.get("rng") or {}, self._generator)
        restored = History.from_dict(ckpt.get("history"))
        self.history.history, self.history.epoch = restored.history, restored.epoch  # type: ignore[union-attr]
        self.history.params = restored.params  # type: ignore[union-attr]
        extra = ckpt.get("extra") or {}
        self.global_step = int(extra.get("global_step", 0))
        states = extra.get("callbacks") or {}
        for key, cb in self._keyed(callbacks):
            if key in states:
                cb.load_state_dict(states[key])
        logger.info("resumed from %s at epoch %d", path, int(ckpt["epoch"]))
        return int(ckpt["epoch"])

    @staticmethod
    def _keyed(callbacks: Sequence[Callback]) -> list[tuple[str, Callback]]:
        return [(f"{i}:{type(cb).__name__}", cb) for i, cb in enumerate(callbacks)]

    def save_checkpoint(self, path: str | Path | None = None) -> Path:
        """Write a full-resume checkpoint of the current run (after ``epochs_done`` epochs).

        Without ``path`` it goes to ``checkpoint_dir/checkpoint-epochNNNN.pt`` and old ones beyond
        ``keep_checkpoints`` are deleted. Callbacks such as ModelCheckpoint call this with their own path.
        In a distributed fit only rank 0 writes (the others return the same path); under FSDP every rank must call
        it, because gathering the sharded state is a collective.

        >>> from tesla_lab.train import Trainer
        >>> Trainer().save_checkpoint()
        Traceback (most recent call last):
        ...
        tesla_lab.errors.NotFittedError: save_checkpoint needs a model being trained; call fit first
        """
        if self.model is None:
            raise NotFittedError("save_checkpoint needs a model being trained; call fit first")
        auto = path is None
        if auto:
            if self.checkpoint_dir is None:
                raise ConfigError("save_checkpoint() without a path needs Trainer(checkpoint_dir=...)")
            path = checkpoint_path(self.checkpoint_dir, self.epochs_done)
        callbacks = self._callbacks_run or [self.history, *self.callbacks]
        extra = {
            "trainer": {"device": str(self.device), "precision": str(self.precision), "grad_clip": self.grad_clip,
                        "seed": self.seed, "checkpoint_every": self.checkpoint_every, **self._fit_config},
            "global_step": self.global_step,
            "callbacks": {key: cb.state_dict() for key, cb in self._keyed(callbacks) if cb is not None},
        }
        # the plain module's state (DDP: the unwrapped model; FSDP: gathered to rank 0, a collective)
        model, optimizer, extra = self._strategy.state_for_checkpoint(self.model, self.optimizer, extra)
        if not self._strategy.is_global_zero:
            return Path(path)
        written = save_checkpoint(path, model=model, optimizer=optimizer, scaler=self.scaler,
                                  epoch=self.epochs_done, history=self.history, extra=extra, generator=self._generator)
        if auto:
            prune_checkpoints(self.checkpoint_dir, self.keep_checkpoints)  # type: ignore[arg-type]
        return written
