"""Training and validation data as the trainer holds it: device tensors batched by index (one on-device
permutation per epoch, or this rank's slice of each global batch), or a DataLoader read batch by batch.

>>> import torch
>>> data = _Data(X=torch.arange(5.0).unsqueeze(1), Y=torch.arange(5))
>>> [yb.tolist() for _, yb in data.batches(2)]
[[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset
from torch.utils.data.distributed import DistributedSampler

from tesla_lab.errors import ConfigError, DataError
from tesla_lab.train.targets import _TargetSpec
from tesla_lab.utils import check_xy, to_tensor


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
