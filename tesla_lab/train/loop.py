"""The hot loop of :class:`~tesla_lab.train.Trainer`: one training epoch (``_train_epoch``) and the epoch's values,
reduced over the ranks once (``_epoch_values``).

Per step it does only what a hand-written loop does -- gather a batch by index on device, forward, backward, step,
add the loss to a device accumulator -- plus one Python bool check for the stop flag. Nothing in it copies to the
host.

>>> import torch
>>> from tesla_lab.train import Trainer
>>> h = Trainer(device="cpu", seed=0).fit(torch.nn.Linear(2, 1), torch.randn(8, 2), torch.randn(8), batch_size=4)
>>> h.params["steps"]
2
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import torch

from tesla_lab.train.batches import _Data
from tesla_lab.train.callbacks import Callback
from tesla_lab.train.metrics import StreamingMetric, accumulator_dtype


class _FitLoop:
    """Mixin of :class:`~tesla_lab.train.Trainer`: ``_train_epoch`` and ``_epoch_values``."""

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
        """One pass over the data. Per step: gather, forward, backward, step, accumulate on device. No host sync.

        Returns ``(loss sum, samples seen, steps)``; ``steps == 0`` with the stop flag set means the epoch never
        started (the caller does not count it).
        """
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
        while True:
            # the flag is read BEFORE the next batch is drawn: a stop before the first step leaves the epoch's
            # shuffle (and a DataLoader's seed) undrawn, so the checkpoint of the epochs before it resumes exactly
            if check_every is None:
                if self.stop_training:
                    break
            elif check_every and steps % check_every == 0 and strategy.any_stop(self.stop_training):
                self.stop_training = True
                break
            batch = next(batches, None)
            if batch is None:
                break
            xb, yb, n, weight = batch
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
