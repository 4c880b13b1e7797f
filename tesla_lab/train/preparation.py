"""Input preparation of :class:`~tesla_lab.train.Trainer`: data onto the device once (``_prepare``), and one tiny
forward pass (``_probe``) that turns shape mistakes into clear errors and decides how targets are shaped for the loss.

>>> import torch
>>> from tesla_lab.train import Trainer
>>> Trainer(device="cpu").fit(torch.nn.Linear(3, 1), torch.randn(4, 2), torch.randn(4))  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tesla_lab.errors.ShapeError: the model cannot take this input: the model expects 3 input features but X has 2 ...
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from tesla_lab.errors import ConfigError, DataError, ShapeError, TeslaError
from tesla_lab.loss import is_classification_loss
from tesla_lab.train.batches import _Data, _distributed_sampler
from tesla_lab.train.metrics import StreamingMetric
from tesla_lab.train.targets import _in_features, _model_dtype, _one_hot_labels, _target_spec, _uses_embedding
from tesla_lab.utils import check_xy, to_tensor

_SHAPE_WORDS = re.compile(r"shape|size|dimension|mat1|mat2|must match|expected input", re.IGNORECASE)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:300] if lines else type(exc).__name__


class _Preparation:
    """Mixin of :class:`~tesla_lab.train.Trainer`: ``_prepare``, ``_probe`` and ``_probe_first``."""

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
