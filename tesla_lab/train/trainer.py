"""The training loop: :class:`Trainer` with ``fit`` / ``evaluate`` / ``predict``.

Read it top to bottom: ``fit`` validates options, puts the data on the device ONCE, checks shapes with one tiny
forward pass (``_probe``), builds the optimizer, then runs ``_train_epoch``. That hot loop does per step only what
a hand-written loop does -- gather a batch by index on device, forward, backward, step, add the loss to a device
accumulator -- plus one Python bool check for the stop flag. Nothing in it copies to the host; losses and metrics
are synchronised ONCE per epoch (``metrics.sync``).

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
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from tesla_lab.errors import ConfigError, DataError, NotFittedError, ShapeError, TeslaError
from tesla_lab.loss import get_loss, is_classification_loss
from tesla_lab.nn.logits import binary_threshold
from tesla_lab.optim import get_optimizer
from tesla_lab.train.callbacks import Callback, History, ProgressBar
from tesla_lab.train.checkpoint import (
    checkpoint_path,
    latest_checkpoint,
    load_checkpoint,
    prune_checkpoints,
    restore_rng_state,
    save_checkpoint,
)
from tesla_lab.train.distributed import SingleProcess, Strategy, get_strategy, resolve_strategy
from tesla_lab.train.inputs import check_inference_input, check_training_input
from tesla_lab.train.metrics import StreamingMetric, accumulator_dtype, build_metrics, sync
from tesla_lab.train.precision import _ALIASES, Precision, resolve_precision
from tesla_lab.utils import check_xy, resolve_device, set_seed, to_tensor

__all__ = ["Trainer", "TRAINER_OPTIONS", "FIT_OPTIONS"]

logger = logging.getLogger(__name__)

TRAINER_OPTIONS = ("device", "precision", "grad_clip", "callbacks", "seed", "checkpoint_dir", "checkpoint_every",
                   "keep_checkpoints", "progress", "strategy")
FIT_OPTIONS = ("optimizer", "loss_fn", "epochs", "batch_size", "lr", "validation_data", "validation_split",
               "shuffle", "metrics", "resume", "initial_epoch")

_SHAPE_WORDS = re.compile(r"shape|size|dimension|mat1|mat2|must match|expected input", re.IGNORECASE)


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


# ------------------------------------------------------------------------------------------------ targets and data
@dataclass
class _TargetSpec:
    """How raw targets become what the loss expects; decided once, applied to whole tensors or to each batch."""

    classification: bool
    one_hot: bool = False  # (N, C) one-hot rows -> class indices (N,)
    squeeze_col: bool = False  # (N, 1) labels -> (N,)
    fix: str | None = None  # regression: 'unsqueeze' (N,) -> (N, 1) or 'squeeze' (N, 1) -> (N,) to match the output
    dtype: torch.dtype | None = torch.float32  # None: keep y's dtype (integer targets of a custom loss)
    classes: int = 0  # fix 'one_hot': integer labels (N,) -> one-hot rows (N, classes) for an element-wise loss

    def apply(self, y: torch.Tensor) -> torch.Tensor:
        if self.classification:
            if self.one_hot:
                y = y.argmax(dim=1)
            elif self.squeeze_col:
                y = y[:, 0]
            return y if y.dtype == torch.long else y.long()
        if self.dtype is not None and y.dtype != self.dtype:
            y = y.to(self.dtype)
        if self.fix == "unsqueeze":
            y = y.unsqueeze(1)
        elif self.fix == "squeeze":
            y = y[:, 0]
        elif self.fix == "one_hot":
            y = torch.nn.functional.one_hot(y.long(), self.classes).to(self.dtype or torch.float32)
        return y


def _target_spec(y: torch.Tensor, loss: Any, classification: bool, dtype: torch.dtype) -> tuple[_TargetSpec, int]:
    """Check raw targets and decide the conversion; returns the spec and the largest class label (-1 if none)."""
    if not classification:
        custom = loss is not None and not isinstance(loss, torch.nn.modules.loss._Loss)
        # a custom loss gets integer targets as they are (it may be a classification loss we cannot recognise)
        return _TargetSpec(False, dtype=None if custom and not y.is_floating_point() else dtype), -1
    spec = _TargetSpec(True)
    loss_name = type(loss).__name__ if loss is not None else "accuracy"
    labels = y
    if y.ndim == 2 and y.shape[1] == 1:
        spec.squeeze_col = True
        labels = y[:, 0]
    elif y.ndim == 2 and y.shape[1] > 1 and bool(((y == 0) | (y == 1)).all() & (y.sum(dim=1) == 1).all()):
        spec.one_hot = True  # rows like [0, 0, 1] (integer sequence labels (N, T) are not one-hot and stay)
        labels = y.argmax(dim=1)
    if labels.is_floating_point():
        frac = labels != labels.round()
        if bool(frac.any()):
            i = int(frac.reshape(-1).nonzero()[0])
            raise DataError(
                f"{loss_name} needs integer class labels 0..C-1, but y has the non-integer value "
                f"{float(labels.reshape(-1)[i])!r} at position {i}; encode classes as integers, or use "
                "loss_fn='mse' for a regression target"
            )
        labels = labels.long()
    ignore = getattr(loss, "ignore_index", -100)
    valid = labels[labels != ignore]
    if valid.numel() and bool((valid < 0).any()):
        raise DataError(f"{loss_name} needs class labels 0..C-1; y has the negative label {int(valid.min())}")
    return spec, int(valid.max()) if valid.numel() else -1


@dataclass
class _Data:
    """Training or validation data: device tensors batched by index, or a DataLoader read batch by batch."""

    X: torch.Tensor | None = None
    Y: torch.Tensor | None = None
    loader: Any = None
    spec: _TargetSpec | None = None
    x_dtype: torch.dtype | None = None  # loader batches: cast floating X to the model's dtype
    device: torch.device | None = None
    label_max: int = -1  # largest class label (classification), checked against the model's output count

    @property
    def n(self) -> int | None:
        if self.X is not None:
            return len(self.X)
        try:
            return len(self.loader.dataset)
        except (TypeError, AttributeError):
            return None

    def batches(self, batch_size: int, shuffle: bool = False,
                generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        X, Y = self.X, self.Y
        if X is None:
            yield from self._loader_batches()
            return
        n = len(X)
        if shuffle:
            # one randperm per epoch from the trainer's own generator (seeded, checkpointed); device-side gather
            perm = torch.randperm(n, generator=generator, device=generator.device)  # type: ignore[union-attr]
            if perm.device != X.device:
                perm = perm.to(X.device)
            index: Sequence[Any] = perm.split(batch_size)
        else:
            index = [slice(i, i + batch_size) for i in range(0, n, batch_size)]  # views, no gather
        if Y is None:
            for b in index:
                yield X[b], None
        else:
            for b in index:
                yield X[b], Y[b]

    def shard_batches(self, batch_size: int, rank: int, world: int, shuffle: bool = False,
                      generator: torch.Generator | None = None
                      ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, int, float]]:
        """This rank's slice of each GLOBAL batch of in-memory data: ``(x, y, n, weight)``.

        Every rank draws the same permutation (same generator state), so the slices are disjoint and together
        are exactly the one-process batch. ``weight`` = n * world / batch size scales the rank's mean loss so that
        DDP's gradient average equals the mean over the whole batch also when it does not split evenly. A rank
        left without a sample (batch smaller than the world) runs the batch's first sample with weight 0 and n 0:
        every rank must take part in every step's gradient all-reduce.
        """
        X, Y = self.X, self.Y
        assert X is not None  # only called for in-memory data
        n = len(X)
        perm = None
        if shuffle:
            perm = torch.randperm(n, generator=generator, device=generator.device)  # type: ignore[union-attr]
            if perm.device != X.device:
                perm = perm.to(X.device)
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)  # this global batch
            q, r = divmod(size, world)
            count = q + (1 if rank < r else 0)
            lo = start + rank * q + min(rank, r)
            weight = count * world / size
            if count == 0:
                lo, count = start, 1
            index: Any = perm[lo:lo + count] if perm is not None else slice(lo, lo + count)
            yield X[index], (Y[index] if Y is not None else None), (count if weight else 0), weight

    def _loader_batches(self) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        dev, spec, x_dtype = self.device, self.spec, self.x_dtype
        for batch in self.loader:
            if isinstance(batch, (tuple, list)):
                if len(batch) != 2:
                    raise DataError(f"a DataLoader must yield (x, y) batches; got a batch of {len(batch)} items")
                xb, yb = batch
            else:
                xb, yb = batch, None
            if not isinstance(xb, torch.Tensor):
                raise DataError(f"DataLoader batches must hold tensors; got x of type {type(xb).__name__}")
            xb = xb.to(dev, non_blocking=True)
            if x_dtype is not None and xb.is_floating_point() and xb.dtype != x_dtype:
                xb = xb.to(x_dtype)
            if yb is not None:
                yb = torch.as_tensor(yb).to(dev, non_blocking=True)
                if spec is not None:
                    yb = spec.apply(yb)
            yield xb, yb


def _is_loader(data: Any) -> bool:
    return isinstance(data, (DataLoader, Dataset))


def _distributed_sampler(loader: Any) -> DistributedSampler | None:
    for sampler in (getattr(loader, "sampler", None), getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        if isinstance(sampler, DistributedSampler):
            return sampler
    return None


def _split_tail(X: Any, y: Any, fraction: float) -> tuple[torch.Tensor, torch.Tensor | None, tuple[Any, Any]]:
    """Hold out the LAST ``fraction`` of the samples, before any shuffling (Keras semantics)."""
    if _is_loader(X):
        raise ConfigError("validation_split works on arrays/tensors; with a DataLoader pass validation_data=")
    Xt, Yt = to_tensor(X, name="X"), (to_tensor(y, name="y") if y is not None else None)
    check_xy(Xt, Yt)
    n_train = int(len(Xt) * (1.0 - fraction))
    if n_train < 1:
        raise DataError(
            f"validation_split={fraction} of {len(Xt)} samples leaves {n_train} for training and {len(Xt) - n_train} "
            "for validation; both need at least one sample"
        )
    val = (Xt[n_train:], Yt[n_train:] if Yt is not None else None)
    return Xt[:n_train], (Yt[:n_train] if Yt is not None else None), val


def _make_optimizer(optimizer: Any, model: torch.nn.Module, lr: float | None) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters (all have requires_grad=False)")
    if not isinstance(optimizer, torch.optim.Optimizer):
        return get_optimizer(optimizer, params, lr=lr)
    own = {id(p) for g in optimizer.param_groups for p in g["params"]}
    if not own & {id(p) for p in params}:
        raise ConfigError(
            "the optimizer instance is bound to other parameters than this model's (was the model rebuilt after the "
            "optimizer?); build it from model.parameters() or pass its name, e.g. optimizer='adam'"
        )
    if lr is not None:  # an explicit lr overrides the instance's
        for group in optimizer.param_groups:
            group["lr"] = lr
    return optimizer


def _model_dtype(model: torch.nn.Module) -> torch.dtype:
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _in_features(model: torch.nn.Module) -> int | None:
    value = getattr(model, "in_features", None)
    if isinstance(value, int):
        return value
    for m in model.modules():  # e.g. the first nn.Linear of a Sequential
        value = getattr(m, "in_features", None)
        if isinstance(value, int):
            return value
    return None


def _uses_embedding(model: torch.nn.Module) -> bool:
    return any(isinstance(m, (torch.nn.Embedding, torch.nn.EmbeddingBag)) for m in model.modules())


def _one_hot_labels(y: torch.Tensor, classes: int, loss: Any) -> bool:
    """True when ``y`` (N,) holds integer class labels 0..classes-1 that an element-wise loss (MSE) can compare
    with ``classes`` outputs after one-hot encoding; integer labels out of that range raise."""
    if bool((y != y.round()).any()):
        return False  # a real-valued target: the shape error explains the mismatch
    low, high = int(y.min()), int(y.max())
    if low < 0 or high >= classes:
        raise DataError(
            f"{type(loss).__name__} with integer class labels one-hot encodes them to the model's {classes} outputs, "
            f"but y has the label {high if high >= classes else low} (labels must be 0..{classes - 1}); build the "
            f"model with output_dim={max(high + 1, classes)} or re-encode the labels"
        )
    return True


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


# ------------------------------------------------------------------------------------------------------ Trainer
class Trainer:
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
    epoch at the next step; its logs and checkpoint are still written.

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

    # ------------------------------------------------------------------------------------------- data preparation
    def _prepare(self, model: torch.nn.Module, X: Any, y: Any, loss: Any, device: torch.device, *,
                 name: str = "X", need_y: bool = True, batch_size: int = 32, shuffle: bool = False,
                 generator: torch.Generator | None = None, shard: bool = False) -> _Data:
        classification = loss is not None and is_classification_loss(loss)
        dtype = _model_dtype(model)
        strategy = self._strategy
        if isinstance(X, Dataset) and shard:  # each rank reads its own part: about batch_size / world per step
            sampler = DistributedSampler(X, num_replicas=strategy.world_size, rank=strategy.rank, shuffle=shuffle,
                                         seed=self.seed if self.seed is not None else 0)
            X = DataLoader(X, batch_size=max(1, batch_size // strategy.world_size), sampler=sampler)
        elif isinstance(X, Dataset):
            X = DataLoader(X, batch_size=batch_size, shuffle=shuffle, generator=generator)
        if isinstance(X, DataLoader):
            if y is not None:
                raise ConfigError(f"{name} is a DataLoader, which yields (x, y) batches itself; pass y=None")
            if shard and _distributed_sampler(X) is None:
                raise ConfigError(
                    f"in a distributed fit ({strategy.name}, {strategy.world_size} processes) a training DataLoader "
                    "must read a different part of the data on each rank, but this one has no DistributedSampler; "
                    "pass the Dataset itself (the trainer shards it), in-memory X/y, or build DataLoader(dataset, "
                    "sampler=DistributedSampler(dataset), ...)"
                )
            return _Data(loader=X, device=device, x_dtype=dtype if dtype.is_floating_point else None)
        # one conversion (floats straight to the model's dtype), moved first and NaN/inf-checked on the device
        Xt = to_tensor(X, name=name, device=device, float_dtype=dtype)
        if not Xt.is_floating_point() and not _uses_embedding(model):
            Xt = Xt.to(dtype)  # integer features into a float model (index inputs stay int for embeddings)
        elif Xt.is_floating_point() and Xt.dtype != dtype:
            Xt = Xt.to(dtype)
        if y is None:
            if need_y:
                raise DataError(f"targets are missing: pass y with one label per row of {name} (or a DataLoader "
                                "that yields (x, y) batches)")
            return _Data(X=Xt.to(device), device=device)
        yname = "y" if name == "X" else f"{name.replace('X', 'y')}"
        Yt = to_tensor(y, name=yname)
        check_xy(Xt, Yt)
        if loss is None:  # evaluate without a loss: integer targets are class labels
            classification = not Yt.is_floating_point()
        spec, label_max = _target_spec(Yt, loss, classification, dtype)
        return _Data(X=Xt.to(device), Y=spec.apply(Yt).to(device), spec=spec, device=device, label_max=label_max)

    def _probe(self, model: torch.nn.Module, data: _Data, xb: torch.Tensor, yb: torch.Tensor | None,
               loss: Any, metrics: Sequence[StreamingMetric], amp: torch.autocast | None,
               x_shape: tuple[int, ...], label_max: int = -1) -> None:
        """One forward pass on <= 2 samples (eval mode, no grad) to turn shape mistakes into clear errors before
        training, and to decide how targets must be shaped for the loss. Uses no random numbers."""
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad(), (amp if amp is not None else contextlib.nullcontext()):
                out = model(xb)
        except TeslaError:
            raise
        except (RuntimeError, ValueError, TypeError, IndexError) as exc:
            if not _SHAPE_WORDS.search(str(exc)):
                raise
            expected = _in_features(model)
            got = x_shape[-1] if len(x_shape) > 1 else None
            if expected is not None and got is not None and expected != got:
                detail = (f"the model expects {expected} input features but X has {got} (X shape {x_shape}); pass X "
                          f"with the {expected} feature columns the model was built for, or build it with "
                          f"in_features={got}")
            else:
                detail = (f"X has shape {x_shape} ({_first_line(exc)}); check that X has the features the model was "
                          "built for")
            raise ShapeError(f"the model cannot take this input: {detail}") from exc
        finally:
            model.train(was_training)
        if not isinstance(out, torch.Tensor):
            raise ConfigError(f"the model must return a tensor; it returned {type(out).__name__}")
        if yb is None or data.spec is None:
            return
        spec = data.spec
        if spec.classification and loss is not None:
            if out.ndim < 2 or out.shape[1] < 2:
                raise ShapeError(
                    f"{type(loss).__name__ if loss is not None else 'classification'} needs one output per class, "
                    f"shape (N, C) with C >= 2, but the model outputs {tuple(out.shape)}; give the model C outputs, "
                    "or use loss_fn='bce' with one output for binary labels"
                )
            if label_max >= out.shape[1]:
                raise DataError(
                    f"y has the class label {label_max} but the model outputs {out.shape[1]} classes (labels "
                    f"0..{out.shape[1] - 1}); build the model with {label_max + 1} outputs or re-encode the labels"
                )
        elif isinstance(loss, torch.nn.modules.loss._Loss):  # element-wise built-in losses (MSE, L1, BCE, Huber)
            o, t = tuple(out.shape[1:]), tuple(yb.shape[1:])
            if o != t:
                if o == (1,) and t == ():
                    spec.fix = "unsqueeze"
                elif o == () and t == (1,):
                    spec.fix = "squeeze"
                elif len(o) == 1 and o[0] > 1 and t == () and _one_hot_labels(data.Y if data.Y is not None else yb,
                                                                               o[0], loss):
                    spec.fix, spec.classes = "one_hot", o[0]  # Keras-style categorical target for MSE & co.
                else:
                    raise ShapeError(
                        f"the model outputs per-sample shape {o} but y has per-sample shape {t}; "
                        f"{type(loss).__name__} compares them element by element, so give the model an output of "
                        f"shape {t} per sample (or reshape y)"
                    )
                if data.Y is not None:
                    data.Y = spec.apply(data.Y)  # dtype already right: only the (N,) <-> (N, 1) view changes
                yb = spec.apply(yb)
        if loss is not None:
            with torch.no_grad(), (amp if amp is not None else contextlib.nullcontext()):
                value = loss(out, yb)
            if not isinstance(value, torch.Tensor) or value.ndim != 0:
                shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
                raise ConfigError(f"loss_fn must return a scalar tensor (the batch mean); it returned {shape}")
        for m in metrics:
            m.batch(yb, out.detach())  # raises a clear error now instead of after an epoch

    def _probe_first(self, model: torch.nn.Module, data: _Data, loss: Any, metrics: Sequence[StreamingMetric],
                     amp: torch.autocast | None, batch_size: int) -> None:
        if data.X is not None:
            k = min(2, len(data.X))
            yb = data.Y[:k] if data.Y is not None else None
            self._probe(model, data, data.X[:k], yb, loss, metrics, amp, tuple(data.X.shape),
                        data.label_max)
            return
        # DataLoader: decide the target conversion from its first batch (read once more during training)
        try:
            xb, yb = next(_Data(loader=data.loader, device=data.device, x_dtype=data.x_dtype)._loader_batches())
        except StopIteration:
            raise DataError("the DataLoader yields no batches; it needs at least one sample") from None
        label_max = -1
        if yb is not None:
            if loss is None:
                classification = not yb.is_floating_point()
            else:
                classification = is_classification_loss(loss)
            data.spec, label_max = _target_spec(yb, loss, classification, _model_dtype(model))
            yb = data.spec.apply(yb)
        self._probe(model, data, xb[:2], yb[:2] if yb is not None else None, loss, metrics, amp,
                    tuple(xb.shape), label_max)

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
        epochs = _check_int("epochs", epochs, 1)
        batch_size = _check_int("batch_size", batch_size, 1)
        initial_epoch = _check_int("initial_epoch", initial_epoch, 0)
        if not 0.0 <= float(validation_split) < 1.0:
            raise ConfigError(f"validation_split must be in [0, 1) (a fraction held out); got {validation_split!r}")
        if validation_split and validation_data is not None:
            raise ConfigError("pass either validation_data or validation_split, not both")
        if resume and initial_epoch:
            raise ConfigError("pass either resume or initial_epoch: resume takes the epoch from the checkpoint")
        if initial_epoch >= epochs:
            raise ConfigError(
                f"initial_epoch={initial_epoch} leaves nothing to train with epochs={epochs}; epochs is the total "
                f"count (Keras-style), so pass epochs > {initial_epoch}"
            )
        if resume and resume is not True and not isinstance(resume, (str, Path)):
            raise ConfigError(f"resume must be True, False or a checkpoint path; got {resume!r}")
        if resume is True and self.checkpoint_dir is None:
            raise ConfigError("resume=True needs Trainer(checkpoint_dir=...) to find the latest checkpoint, or pass "
                              "resume='path/to/checkpoint.pt'")

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

    def _epoch_values(self, loss_sum: torch.Tensor, seen: int, metrics: Sequence[StreamingMetric],
                      val_sums: tuple[torch.Tensor, int] | None,
                      val_metrics: Sequence[StreamingMetric]) -> tuple[list[torch.Tensor], int]:
        """The epoch's loss and metric values (and the training sample count), global over the ranks.

        Distributed: every (running sum, count) pair is added over the ranks with ONE all_reduce, so each value
        is the exact mean over all samples; the reduced sums are put back into the metrics (which compute from
        them, e.g. RMSE's square root of the mean).
        """
        if self._strategy.is_distributed:
            # metrics accumulate in `_sum` (device tensor) and `_count` (int): reduce those, then compute()
            pairs = [(loss_sum, seen), *((m._sum, m._count) for m in metrics)]
            if val_sums is not None:
                pairs += [val_sums, *((m._sum, m._count) for m in val_metrics)]
            reduced = iter(self._strategy.reduce_sums(pairs))  # type: ignore[arg-type]
            total, seen = next(reduced)
            loss_sum = torch.tensor(total, dtype=torch.float64)
            for m in metrics:
                s, m._count = next(reduced)
                m._sum = torch.tensor(s, dtype=torch.float64)
            if val_sums is not None:
                total, count = next(reduced)
                val_sums = (torch.tensor(total, dtype=torch.float64), count)
                for m in val_metrics:
                    s, m._count = next(reduced)
                    m._sum = torch.tensor(s, dtype=torch.float64)
        values = [loss_sum / seen if seen else torch.tensor(math.nan), *[m.compute() for m in metrics]]
        if val_sums is not None:
            total, count = val_sums
            values += [total / count if count else torch.tensor(math.nan), *[m.compute() for m in val_metrics]]
        return values, seen

    def _train_epoch(self, model: torch.nn.Module, data: _Data, opt: torch.optim.Optimizer,
                     scaler: torch.amp.GradScaler | None, loss_fn: Callable[..., torch.Tensor],
                     amp: torch.autocast | None, metrics: Sequence[StreamingMetric], batch_size: int, shuffle: bool,
                     generator: torch.Generator, batch_callbacks: Sequence[Callback]) -> tuple[torch.Tensor, int, int]:
        """One pass over the data. Per step: gather, forward, backward, step, accumulate on device. No host sync."""
        device = self.device
        strategy = self._strategy
        total = torch.zeros((), dtype=accumulator_dtype(device), device=device)  # type: ignore[arg-type]
        clip = self.grad_clip
        params = [p for g in opt.param_groups for p in g["params"]] if clip is not None else []
        clip_ = torch.nn.utils.clip_grad_norm_
        zero_grad, step = opt.zero_grad, opt.step
        # (x, y, samples that count, loss weight); distributed in-memory data: this rank's slice of each batch
        batches: Iterator[tuple[torch.Tensor, torch.Tensor | None, int, float]]
        if strategy.is_distributed and data.X is not None:
            batches = data.shard_batches(batch_size, strategy.rank, strategy.world_size, shuffle, generator)
        else:
            batches = ((xb, yb, xb.shape[0], 1.0) for xb, yb in data.batches(batch_size, shuffle, generator))
        # one process stops at the next step; ranks stop together, at steps where all of them check the flag
        check_every = (strategy.sync_stop_every or 0) if strategy.is_distributed else None
        seen = 0
        steps = 0
        for xb, yb, n, weight in batches:
            if check_every is None:
                if self.stop_training:
                    break
            elif check_every and steps % check_every == 0 and strategy.any_stop(self.stop_training):
                self.stop_training = True
                break
            if amp is None:
                out = model(xb)
                loss = loss_fn(out, yb)
            else:
                with amp:  # forward and loss in reduced precision; weights and backward stay fp32
                    out = model(xb)
                    loss = loss_fn(out, yb)
            # uneven split of a global batch: this rank's share, so the DDP gradient mean is the batch mean
            objective = loss if weight == 1.0 else loss * weight
            zero_grad(set_to_none=True)
            if scaler is None:
                objective.backward()
                if clip is not None:
                    clip_(params, clip)
                step()
            else:
                scaler.scale(objective).backward()
                if clip is not None:
                    scaler.unscale_(opt)  # clip the true gradients, not the scaled ones
                    clip_(params, clip)
                scaler.step(opt)
                scaler.update()
            if n:
                total.add_(loss.detach(), alpha=n)  # sum of per-sample losses, on device
                seen += n
                if metrics:
                    out_d = out.detach()
                    for m in metrics:
                        m.update(yb, out_d)
            if batch_callbacks:
                logs = {"loss": loss.detach(), "batch": steps, "size": n, "epoch": self.epoch}
                for cb in batch_callbacks:
                    cb.on_batch_end(self, self.global_step + steps, logs)
            steps += 1
        return total, seen, steps

    # ---------------------------------------------------------------------------------------- evaluate / predict
    def _evaluate_sums(self, model: torch.nn.Module, data: _Data, loss_fn: Any, metrics: Sequence[StreamingMetric],
                       amp: torch.autocast | None, batch_size: int, device: torch.device,
                       shard: bool = False) -> tuple[torch.Tensor, int]:
        """Summed loss and sample count over ``data`` (metrics accumulate in place); no host sync. ``shard``: this
        rank's slice of each batch only (every rank still runs the same number of forwards, as FSDP needs)."""
        was_training = model.training
        model.eval()
        total = torch.zeros((), dtype=accumulator_dtype(device), device=device)
        seen = 0
        for m in metrics:
            m.reset(device)
        batches: Iterator[tuple[torch.Tensor, torch.Tensor | None, int, float]]
        if shard and data.X is not None:
            batches = data.shard_batches(batch_size, self._strategy.rank, self._strategy.world_size)
        else:
            batches = ((xb, yb, xb.shape[0], 1.0) for xb, yb in data.batches(batch_size))
        try:
            with torch.no_grad():
                for xb, yb, n, _ in batches:
                    with amp if amp is not None else contextlib.nullcontext():
                        out = model(xb)
                        if n and loss_fn is not None:
                            total.add_(loss_fn(out, yb).detach(), alpha=n)
                    if n:
                        seen += n
                        for m in metrics:
                            m.update(yb, out)
        finally:
            model.train(was_training)
        return total, seen

    def _evaluate_data(self, model: torch.nn.Module, data: _Data, loss_fn: Any, metrics: Sequence[StreamingMetric],
                       amp: torch.autocast | None, batch_size: int, device: torch.device) -> list[torch.Tensor]:
        """Loss (if any) and metrics over ``data`` as device tensors; the caller syncs once."""
        total, seen = self._evaluate_sums(model, data, loss_fn, metrics, amp, batch_size, device)
        values = [m.compute() for m in metrics]
        if loss_fn is not None:
            values.insert(0, total / seen if seen else torch.tensor(math.nan))
        return values

    def evaluate(self, model: torch.nn.Module, X: Any, y: Any = None, *,
                 loss_fn: str | Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
                 batch_size: int = 256, metrics: Sequence[Any] = ()) -> dict[str, float]:
        """Loss and metrics of ``model`` on ``X``/``y`` (or a DataLoader), synchronised once.

        ``loss_fn=None`` uses the loss of the last ``fit``; when there is none only ``metrics`` are reported.

        >>> import torch
        >>> model = torch.nn.Linear(2, 2)
        >>> r = Trainer(device="cpu").evaluate(model, torch.randn(10, 2), torch.zeros(10, dtype=torch.long),
        ...                                    loss_fn="cross_entropy", metrics=["accuracy"])
        >>> sorted(r)
        ['accuracy', 'loss']
        """
        batch_size = _check_int("batch_size", batch_size, 1)
        model, device, precision = self._setup_model(model)
        loss = get_loss(loss_fn) if loss_fn is not None else self.loss_fn
        threshold = binary_threshold(model, loss)
        check_inference_input(model, X)
        ms = build_metrics(metrics, binary_threshold=threshold)
        if loss is None and not ms:
            raise ConfigError("nothing to evaluate: pass loss_fn= (e.g. 'mse') and/or metrics= (e.g. ['accuracy'])")
        amp = precision.autocast()
        data = self._prepare(model, X, y, loss, device, batch_size=batch_size)
        self._probe_first(model, data, loss, ms, amp, batch_size)
        values = sync(self._evaluate_data(model, data, loss, ms, amp, batch_size, device))
        names = (["loss"] if loss is not None else []) + [m.name for m in ms]
        return dict(zip(names, values))

    def predict(self, model: torch.nn.Module, X: Any, *, batch_size: int = 256) -> torch.Tensor:
        """Model outputs for ``X`` (array, tensor or DataLoader) as one CPU tensor (float32 when autocast ran
        in reduced precision), copied to the host once at the end.

        >>> import torch
        >>> Trainer(device="cpu").predict(torch.nn.Linear(3, 2), [[1.0, 2.0, 3.0]]).shape
        torch.Size([1, 2])
        """
        batch_size = _check_int("batch_size", batch_size, 1)
        model, device, precision = self._setup_model(model)
        amp = precision.autocast()
        check_inference_input(model, X)
        data = self._prepare(model, X, None, None, device, need_y=False, batch_size=batch_size)
        self._probe_first(model, data, None, (), amp, batch_size)
        outs = []
        was_training = model.training
        model.eval()
        try:
            with torch.no_grad():
                for xb, _ in data.batches(batch_size):
                    with amp if amp is not None else contextlib.nullcontext():
                        out = model(xb)
                    outs.append(out.float() if out.is_floating_point() and out.dtype in (torch.float16,
                                                                                          torch.bfloat16) else out)
        finally:
            model.train(was_training)
        return torch.cat(outs).cpu()

    # ----------------------------------------------------------------------------------------------- checkpoints
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

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={getattr(self, k if k != 'device' else 'device_arg')!r}"
                         for k in ("device", "precision", "grad_clip", "seed", "strategy"))
        return f"Trainer({opts})"
