"""The training loop: :class:`Trainer` with ``fit`` / ``evaluate`` / ``predict``.

Read it top to bottom: ``fit`` validates options (:mod:`~tesla_lab.train.options`), puts the data on the device
ONCE and checks shapes with one tiny forward pass (:mod:`~tesla_lab.train.preparation`), builds the optimizer, then
runs ``_train_epoch`` (:mod:`~tesla_lab.train.loop`), which copies nothing to the host; losses and metrics are
synchronised ONCE per epoch (``metrics.sync``). ``evaluate``/``predict`` live in :mod:`~tesla_lab.train.evaluation`,
the checkpoint glue in :mod:`~tesla_lab.train.checkpointing`, the data holder in :mod:`~tesla_lab.train.batches`
and the target conversion in :mod:`~tesla_lab.train.targets`.

>>> import torch
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> X = torch.randn(64, 2); y = (X[:, 0] > 0).long()
>>> trainer = Trainer(device="cpu", seed=0)
>>> h = trainer.fit(torch.nn.Linear(2, 2), X, y, loss_fn="cross_entropy", epochs=20, lr=0.1, metrics=["accuracy"])
>>> h.history["accuracy"][-1] > 0.9
True
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from tesla_lab.errors import ConfigError
from tesla_lab.loss import get_loss
from tesla_lab.nn.logits import binary_threshold
from tesla_lab.train.batches import _distributed_sampler, _is_loader, _split_tail
from tesla_lab.train.callbacks import Callback, History, ProgressBar
from tesla_lab.train.checkpointing import _Checkpointing
from tesla_lab.train.distributed import SingleProcess, Strategy, get_strategy, resolve_strategy
from tesla_lab.train.evaluation import _Evaluation
from tesla_lab.train.inputs import check_training_input
from tesla_lab.train.loop import _FitLoop
from tesla_lab.train.metrics import build_metrics, sync
from tesla_lab.train.options import FIT_OPTIONS, TRAINER_OPTIONS, _check_fit_options, _check_int, _make_optimizer
from tesla_lab.train.precision import _ALIASES, Precision, resolve_precision
from tesla_lab.train.preparation import _Preparation
from tesla_lab.utils import resolve_device, set_seed

__all__ = ["Trainer", "TRAINER_OPTIONS", "FIT_OPTIONS"]

logger = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------------------ Trainer
class Trainer(_Preparation, _FitLoop, _Evaluation, _Checkpointing):
    """Train, evaluate and predict with any ``torch.nn.Module``.

    Args:
        device: ``'auto'`` (the model's device if it is already on an accelerator, else the first CUDA device,
            else CPU), ``'cpu'``, ``'cuda'``, ``'cuda:N'``.
        precision: ``'fp32'``, ``'bf16'``, ``'fp16'`` or ``'mixed'`` (bf16 where supported, else fp16); see
            :mod:`tesla_lab.train.precision`.
        grad_clip: clip the global gradient norm to this value (after unscaling under fp16).
        callbacks: :class:`~tesla_lab.train.Callback` objects, called in order after the built-in History.
        seed: seeds Python/NumPy/torch at the start of ``fit`` and the trainer's shuffle generator, so two runs
            with the same seed (and the same initial weights) end with identical weights.
        checkpoint_dir: write a full-resume checkpoint every ``checkpoint_every`` epochs and at the end,
            keeping the newest ``keep_checkpoints``; ``fit(resume=True)`` continues from the latest.
        progress: show a tqdm progress bar over epochs.
        strategy: ``'auto'`` (DDP when started by torchrun with several processes, else one process),
            ``'single'``, ``'ddp'``, ``'fsdp'`` or a :class:`~tesla_lab.train.distributed.Strategy` such as
            ``DDPStrategy(sync_stop_every=10)``. Under DDP/FSDP ``batch_size`` is the global batch, split over the
            processes; see :mod:`tesla_lab.train.distributed`.

    ``trainer.stop()`` (or ``trainer.stop_training = True``, from a callback or another thread) ends the current
    epoch at the next step; its logs and checkpoint are still written. A stop before an epoch's first step ends
    training with the epoch before it (an epoch without a step is not logged or counted).

    >>> import torch
    >>> t = Trainer(device="cpu", precision="bf16", grad_clip=1.0)
    >>> h = t.fit(torch.nn.Linear(3, 1), torch.randn(32, 3), torch.randn(32), epochs=2, batch_size=8)
    >>> sorted(h.history)
    ['epoch_time', 'loss', 'lr', 'samples_per_sec']
    >>> t.predict(t.model, torch.randn(5, 3)).shape
    torch.Size([5, 1])
    """

    def __init__(
        self,
        *,
        device: str | torch.device = "auto",
        precision: str = "fp32",
        grad_clip: float | None = None,
        callbacks: Sequence[Callback] = (),
        seed: int | None = None,
        checkpoint_dir: str | Path | None = None,
        checkpoint_every: int = 1,
        keep_checkpoints: int = 2,
        progress: bool = False,
        strategy: str | Strategy | None = "auto",
    ) -> None:
        get_strategy(strategy)  # an unknown name fails here; whether torchrun started us is checked by fit
        if str(precision).strip().lower() not in _ALIASES:
            resolve_precision(precision, "cpu")  # raises the ConfigError listing the choices
        if grad_clip is not None and (isinstance(grad_clip, bool) or not grad_clip > 0):
            raise ConfigError(f"grad_clip must be a positive max gradient norm (e.g. 1.0) or None; got {grad_clip!r}")
        callbacks = list(callbacks)
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise ConfigError(
                    f"callbacks must be tesla_lab.train.Callback objects; got {type(cb).__name__}. Wrap functions in "
                    "LambdaCallback(on_epoch_end=fn)"
                )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed must be an int or None; got {seed!r}")
        self.device_arg = device
        self.precision = precision
        self.grad_clip = float(grad_clip) if grad_clip is not None else None
        self.callbacks = callbacks
        self.seed = seed
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.checkpoint_every = _check_int("checkpoint_every", checkpoint_every, 1)
        self.keep_checkpoints = _check_int("keep_checkpoints", keep_checkpoints, 1)
        self.progress = progress
        self.strategy = strategy
        # run state, filled by fit
        self.stop_training = False
        self.history: History | None = None
        self.model: torch.nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.scaler: torch.amp.GradScaler | None = None
        self.loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
        self.device: torch.device | None = None
        self.epoch = 0  # index of the current (or last) epoch
        self.epochs = 0
        self.initial_epoch = 0
        self.epochs_done = 0
        self.global_step = 0
        self.stopped_epoch: int | None = None
        self.log_keys: list[str] = []
        self._generator: torch.Generator | None = None
        self._precision: Precision | None = None
        self._fit_config: dict[str, Any] = {}
        self._callbacks_run: list[Callback] = []
        self._strategy: Strategy = SingleProcess()

    # ------------------------------------------------------------------------------------------- distributed
    @property
    def global_rank(self) -> int:
        """This process's rank in the last distributed ``fit`` (0 in one process)."""
        return self._strategy.rank

    @property
    def world_size(self) -> int:
        """Number of processes of the last ``fit`` (1 in one process)."""
        return self._strategy.world_size

    @property
    def is_global_zero(self) -> bool:
        """True on the process that writes checkpoints and logs: rank 0, or the only process.

        >>> Trainer().is_global_zero
        True
        """
        return self._strategy.is_global_zero

    # ------------------------------------------------------------------------------------------- small helpers
    def stop(self) -> None:
        """Ask training to stop: the current epoch ends at the next step, then logs/checkpoints are written.

        Safe to call from another thread (it only sets a bool the loop reads between steps).

        >>> t = Trainer(); t.stop(); t.stop_training
        True
        """
        self.stop_training = True

    def _resolve_device(self, model: torch.nn.Module) -> torch.device:
        if self.device_arg in (None, "auto"):
            current = next(model.parameters(), None)
            if current is not None and current.device.type not in ("cpu", "meta"):
                return current.device  # the user already placed the model on an accelerator
        return resolve_device(self.device_arg)

    def _setup_model(self, model: Any, device: torch.device | None = None,
                     move: bool = True) -> tuple[torch.nn.Module, torch.device, Precision]:
        if not isinstance(model, torch.nn.Module):
            raise ConfigError(f"model must be a torch.nn.Module; got {type(model).__name__}")
        if device is None:
            device = self._resolve_device(model)
        if move:  # FSDP leaves the model where it is and moves only each rank's shards
            model.to(device)
        precision = resolve_precision(self.precision, device)
        self.device, self._precision = device, precision
        return model, device, precision


    # ---------------------------------------------------------------------------------------------------- fit
    def fit(
        self,
        model: torch.nn.Module,
        X: Any,
        y: Any = None,
        *,
        optimizer: str | torch.optim.Optimizer | type[torch.optim.Optimizer] = "adam",
        loss_fn: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = "mse",
        epochs: int = 1,
        batch_size: int = 32,
        lr: float | None = None,
        validation_data: Any = None,
        validation_split: float = 0.0,
        shuffle: bool = True,
        metrics: Sequence[Any] = (),
        resume: bool | str | Path = False,
        initial_epoch: int = 0,
    ) -> History:
        """Train ``model`` on ``X``/``y`` and return the :class:`~tesla_lab.train.History`.

        ``X``/``y``: arrays, lists, DataFrames or tensors (moved to the device once), or ``X`` a DataLoader (or
        Dataset) yielding ``(x, y)`` batches with ``y=None``. ``epochs`` is the total epoch count (Keras-style:
        training runs epochs ``initial_epoch .. epochs-1``). ``loss_fn`` returns the batch mean. With
        ``validation_split`` the LAST fraction of the samples (before shuffling) is held out. ``shuffle`` applies
        to in-memory data (one on-device permutation per epoch); a DataLoader shuffles itself. History records per
        epoch ``loss``, each metric, ``val_*`` for both, ``epoch_time`` (wall seconds, validation included),
        ``samples_per_sec`` (training samples / ``epoch_time``) and ``lr``.
        ``resume=True`` continues from the latest checkpoint in ``checkpoint_dir`` (or starts fresh when there is
        none); ``resume='path.pt'`` from that file.

        >>> import torch
        >>> Trainer(device="cpu").fit(torch.nn.Linear(2, 1), torch.randn(4, 2), torch.randn(4), epochs=0)
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: epochs must be an integer >= 1; got 0
        """
        epochs, batch_size, initial_epoch = _check_fit_options(epochs, batch_size, initial_epoch, validation_split,
                                                               validation_data, resume, self.checkpoint_dir)

        strategy = resolve_strategy(self.strategy)
        if strategy.shards_parameters and isinstance(optimizer, torch.optim.Optimizer):
            raise ConfigError(
                f"with strategy={strategy.name!r} the optimizer is built after the parameters are sharded, so it "
                f"cannot be an instance ({type(optimizer).__name__}); pass its name or class, e.g. optimizer='adam'"
            )
        rank_device = strategy.setup(self.device_arg)  # distributed: process group, cuda:LOCAL_RANK (or CPU)
        self._strategy = strategy
        model, device, precision = self._setup_model(model, rank_device, move=not strategy.shards_parameters)
        if strategy.shards_parameters and precision.needs_scaler:
            raise ConfigError(f"strategy={strategy.name!r} does not support fp16 loss scaling of sharded gradients "
                              f"(precision={self.precision!r}); use precision='bf16' (or 'fp32')")
        loss = get_loss(loss_fn)
        threshold = binary_threshold(model, loss)  # 0.5 on a final sigmoid's probabilities, 0 on logits
        check_training_input(model, X)  # raw uint8 pixels: one warning naming the fix
        train_metrics = build_metrics(metrics, binary_threshold=threshold)
        val_metrics = build_metrics(metrics, binary_threshold=threshold)
        amp = precision.autocast()  # ONE autocast object, re-entered each step (None for fp32)

        # shuffle generator: on the device for CUDA so randperm runs there; it is seeded below and checkpointed
        generator = torch.Generator(device=device) if device.type == "cuda" else torch.Generator()

        if validation_split:
            X, y, validation_data = _split_tail(X, y, validation_split)
        train = self._prepare(model, X, y, loss, device, batch_size=batch_size, shuffle=shuffle,
                              generator=generator if device.type == "cpu" else None, shard=strategy.is_distributed)
        val = None
        if validation_data is not None:
            if _is_loader(validation_data):
                val = self._prepare(model, validation_data, None, loss, device, name="validation X",
                                    batch_size=batch_size)
            elif isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
                val = self._prepare(model, validation_data[0], validation_data[1], loss, device,
                                    name="validation X")
            else:
                raise ConfigError("validation_data must be a (X_val, y_val) pair or a DataLoader; got "
                                  f"{type(validation_data).__name__}")

        # `net` runs the training step (the DDP wrapper, or the FSDP-sharded copy); `trained` is the module the
        # callbacks, validation and optimizer see (the plain model under DDP, the sharded copy under FSDP)
        if strategy.shards_parameters:
            net, trained = strategy.wrap(model, device)
            self._probe_first(trained, train, loss, train_metrics, amp, batch_size)  # a collective forward
            if val is not None:
                self._probe_first(trained, val, loss, val_metrics, amp, batch_size)
            opt = _make_optimizer(optimizer, trained, lr)
        else:
            self._probe_first(model, train, loss, train_metrics, amp, batch_size)
            if val is not None:
                self._probe_first(model, val, loss, val_metrics, amp, batch_size)
            opt = _make_optimizer(optimizer, model, lr)  # after the probe: lazily-initialised layers now have params
            net, trained = strategy.wrap(model, device)  # DDP: every rank now holds rank 0's weights
        scaler = precision.make_scaler()

        history = History()
        self.model, self.optimizer, self.scaler, self.loss_fn = trained, opt, scaler, loss
        self._generator = generator
        self.stop_training = False
        self.stopped_epoch = None
        self.global_step = 0
        self.history = history
        callbacks: list[Callback] = [history, *self.callbacks]
        if self.progress and not any(isinstance(cb, ProgressBar) for cb in callbacks):
            callbacks.append(ProgressBar())
        # ranks other than 0 skip rank-zero-only callbacks (progress, logging); the full list keeps checkpoint keys
        active = [cb for cb in callbacks if strategy.is_global_zero or not getattr(cb, "rank_zero_only", False)]

        resumed_at = self._resume(resume, callbacks) if resume else None
        if resumed_at is not None:
            initial_epoch = resumed_at
        elif self.seed is not None:
            set_seed(self.seed)
            generator.manual_seed(self.seed)
        else:  # drawn from the global RNG, so torch.manual_seed(...) before fit also fixes the shuffle; rank 0's
            # draw everywhere, so all ranks shuffle alike
            generator.manual_seed(strategy.broadcast_int(int(torch.randint(0, 2**62, (1,)).item())))

        n_train = train.n
        self.epochs, self.initial_epoch, self.epochs_done = epochs, initial_epoch, initial_epoch
        self.log_keys = ["loss", *[m.name for m in train_metrics]]
        if val is not None:
            self.log_keys += ["val_loss", *[f"val_{m.name}" for m in val_metrics]]
        self.log_keys += ["epoch_time", "samples_per_sec", "lr"]
        history.params.update({"epochs": epochs, "batch_size": batch_size, "samples": n_train,
                               "steps": math.ceil(n_train / batch_size) if n_train else None})
        if strategy.is_distributed:
            history.params.update({"strategy": strategy.name, "world_size": strategy.world_size})
        self._fit_config = {
            "optimizer": optimizer if isinstance(optimizer, str) else type(opt).__name__,
            "loss_fn": loss_fn if isinstance(loss_fn, str) else getattr(loss_fn, "__name__", type(loss).__name__),
            "epochs": epochs, "batch_size": batch_size, "lr": lr, "shuffle": bool(shuffle),
            "validation_split": float(validation_split), "metrics": [m.name for m in train_metrics],
            "strategy": strategy.name, "world_size": strategy.world_size,
        }
        batch_callbacks = [cb for cb in active if cb.wants_batch_end()]
        self._callbacks_run = callbacks
        sampler = _distributed_sampler(train.loader) if train.loader is not None else None
        log_epochs = strategy.is_global_zero and logger.isEnabledFor(logging.INFO)

        try:
            for cb in active:
                cb.on_train_begin(self, {})
            if initial_epoch >= epochs:
                logger.info("the checkpoint already holds %d epochs (epochs=%d); nothing to train", initial_epoch,
                            epochs)
            for epoch in range(initial_epoch, epochs):
                self.epoch = epoch
                for cb in active:
                    cb.on_epoch_begin(self, epoch, {})
                if sampler is not None:
                    sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
                t0 = time.perf_counter()
                net.train()
                for m in train_metrics:
                    m.reset(device)
                loss_sum, seen, steps = self._train_epoch(net, train, opt, scaler, loss, amp, train_metrics,
                                                          batch_size, shuffle, generator, batch_callbacks)
                if steps == 0 and self.stop_training:  # stopped before its first step: the epoch never happened
                    self._stop_before_epoch(epoch, initial_epoch)
                    break
                self.global_step += steps
                val_sums = None
                if val is not None:
                    val_sums = self._evaluate_sums(trained, val, loss, val_metrics, amp, batch_size, device,
                                                   shard=strategy.is_distributed)
                values, seen = self._epoch_values(loss_sum, seen, train_metrics, val_sums, val_metrics)
                floats = sync(values)  # the ONE device->host copy of this epoch
                elapsed = time.perf_counter() - t0
                names = self.log_keys[: len(floats)]
                logs = dict(zip(names, floats))
                logs["epoch_time"] = elapsed
                logs["samples_per_sec"] = seen / elapsed if elapsed > 0 else math.nan
                logs["lr"] = float(opt.param_groups[0]["lr"])
                if not math.isfinite(logs["loss"]):
                    logger.warning("loss is %s at epoch %d; lower the learning rate or set grad_clip", logs["loss"],
                                   epoch)
                if self.stop_training:
                    logger.info("stop requested: training ends after epoch %d (%d steps in it)", epoch, steps)
                self.epochs_done = epoch + 1
                for cb in active:
                    cb.on_epoch_end(self, epoch, logs)
                if strategy.is_distributed:  # a stop asked on any rank (EarlyStopping, rank 0's UI flag) stops all
                    self.stop_training = strategy.any_stop(self.stop_training)
                last = epoch + 1 == epochs or self.stop_training
                if self.checkpoint_dir is not None and ((epoch + 1) % self.checkpoint_every == 0 or last):
                    self.save_checkpoint()  # rank 0 writes (under FSDP every rank helps gather the state)
                if log_epochs:
                    logger.info("epoch %d/%d: %s", epoch + 1, epochs,
                                ", ".join(f"{k}={v:.4g}" for k, v in logs.items()))
                if self.stop_training:
                    self.stopped_epoch = epoch
                    break
            if trained is not model:  # FSDP trained a sharded copy: the user's model gets the weights
                strategy.finish(trained, model)
                self.model = model
            for cb in active:
                cb.on_train_end(self, {})
            strategy.barrier()  # when fit returns on any rank, rank 0's checkpoints and logs are written
        except BaseException as exc:
            for cb in active:
                with contextlib.suppress(Exception):
                    cb.on_exception(self, exc)
            raise
        return history

    def _stop_before_epoch(self, epoch: int, initial_epoch: int) -> None:
        """A stop that landed before ``epoch``'s first step: the epoch is not logged (it has no loss), not counted
        and not checkpointed; training ends with the last complete epoch, whose checkpoint is written here unless
        its epoch end already wrote it (or this fit trained nothing: its starting state is no new checkpoint)."""
        logger.info("stop requested before epoch %d's first step: training ends with %d complete epochs", epoch + 1,
                    epoch)
        self.epoch = max(epoch - 1, 0)
        self.stopped_epoch = epoch - 1 if epoch > 0 else None
        if self.checkpoint_dir is not None and epoch > initial_epoch and epoch % self.checkpoint_every:
            self.save_checkpoint()  # a collective under FSDP: every rank stops here together (any_stop at step 0)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={getattr(self, k if k != 'device' else 'device_arg')!r}"
                         for k in ("device", "precision", "grad_clip", "seed", "strategy"))
        return f"Trainer({opts})"
