"""Run by tests/train/test_distributed.py under torchrun (2 processes, gloo, CPU); writes results for the test.

``ddp_script.py OUT``: several small fits in one launch (a torchrun start costs seconds): each rank writes
``OUT/<scenario>-rank<R>.json`` (history, epochs, steps) and ``.pt`` (final weights).
``ddp_script.py fail OUT``: rank 1 raises at once, rank 0 waits to be stopped (torch is never imported).

The test imports ``make_data``/``make_model``/``FIT`` to train the one-process reference.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

DEVICE = os.environ.get("TESLA_TEST_DEVICE", "cpu")  # 'auto' in the GPU test: NCCL, cuda:LOCAL_RANK
FIT = {"optimizer": "adam", "loss_fn": "mse", "batch_size": 12, "lr": 0.05, "metrics": ["mae"], "epochs": 3}


def make_data():
    """49 training samples (batches of 12 end with a 1-sample batch: one rank gets nothing) and 11 for validation."""
    import torch

    g = torch.Generator().manual_seed(1234)
    X = torch.randn(49, 5, generator=g)
    w = torch.randn(5, 1, generator=g)
    y = (X @ w).squeeze(1) + 0.1 * torch.randn(49, generator=g)
    Xv = torch.randn(11, 5, generator=g)
    return X, y, Xv, (Xv @ w).squeeze(1)


def make_model(seed: int = 0):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def _save(out: Path, name: str, rank: int, trainer, history, model) -> None:
    import torch

    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, out / f"{name}-rank{rank}.pt")
    (out / f"{name}-rank{rank}.json").write_text(json.dumps({
        "history": history.history, "epochs_done": trainer.epochs_done, "global_step": trainer.global_step,
        "rank": trainer.global_rank, "world_size": trainer.world_size,
    }))


def main(out: Path) -> None:
    import torch

    import tesla_lab.train.checkpointing as trainer_module
    from tesla_lab.errors import ConfigError
    from tesla_lab.train import Callback, EarlyStopping, LambdaCallback, ModelCheckpoint, Trainer
    from tesla_lab.train.distributed import DDPStrategy, FSDPStrategy

    rank = int(os.environ["RANK"])
    X, y, Xv, yv = make_data()
    fit = {**FIT, "validation_data": (Xv, yv)}

    # record which rank writes the trainer's checkpoints
    original_save = trainer_module.save_checkpoint

    def recording_save(path, **kwargs):
        with open(out / f"saved-by-rank{rank}.txt", "a") as f:
            f.write(f"{Path(path).name}\n")
        return original_save(path, **kwargs)

    trainer_module.save_checkpoint = recording_save

    class RankFile(Callback):
        """Writes a file per rank it runs on."""

        def __init__(self, tag: str, rank_zero_only: bool) -> None:
            self.tag, self.rank_zero_only = tag, rank_zero_only

        def on_epoch_end(self, trainer, epoch, logs):
            with open(out / f"{self.tag}-rank{rank}.txt", "a") as f:
                f.write(json.dumps(logs) + "\n")

    # 1. DDP: different initial weights per rank (DDP starts everyone from rank 0's), shuffled, uneven batches
    model = make_model(seed=rank)
    trainer = Trainer(device=DEVICE, seed=0, strategy="ddp", checkpoint_dir=out / "ckpt",
                      callbacks=[RankFile("log", True), RankFile("every", False),
                                 ModelCheckpoint(out / "mc", monitor="val_loss", keep=1)])
    history = trainer.fit(model, X, y, **fit)
    _save(out, "ddp", rank, trainer, history, model)

    # 2. resume the run above from rank 0's checkpoint for one more epoch
    model = make_model(seed=rank + 10)
    trainer = Trainer(device=DEVICE, seed=0, strategy="ddp", checkpoint_dir=out / "ckpt")
    history = trainer.fit(model, X, y, **{**fit, "epochs": 4}, resume=True)
    _save(out, "resume", rank, trainer, history, model)
    trainer_module.save_checkpoint = original_save

    # 3. rank 0's callback stops at an epoch end (checked only there): both ranks stop after epoch 1
    stop_at_epoch = LambdaCallback(on_epoch_end=lambda t, epoch, logs: t.stop() if epoch == 1 else None,
                                   rank_zero_only=True)
    model = make_model()
    trainer = Trainer(device=DEVICE, seed=0, strategy=DDPStrategy(sync_stop_every=None), callbacks=[stop_at_epoch])
    history = trainer.fit(model, X, y, **{**FIT, "epochs": 50})
    _save(out, "stop_epoch", rank, trainer, history, model)

    # 4. rank 0 stops after global step 2; the flag is checked every 2 steps: both ranks stop before step 4
    stop_at_step = LambdaCallback(on_batch_end=lambda t, step, logs: t.stop() if step == 2 else None,
                                  rank_zero_only=True)
    model = make_model()
    trainer = Trainer(device=DEVICE, seed=0, strategy=DDPStrategy(sync_stop_every=2), callbacks=[stop_at_step])
    history = trainer.fit(model, X, y, **{**FIT, "epochs": 50})
    _save(out, "stop_step", rank, trainer, history, model)

    # 4b. rank 0 stops before epoch 2's first step: every rank leaves at that epoch's step 0 (where the flags are
    # compared), so epoch 2 is neither logged nor counted and rank 0 checkpoints the 2 complete epochs
    stop_before = LambdaCallback(on_epoch_begin=lambda t, epoch, logs: t.stop() if epoch == 2 else None,
                                 rank_zero_only=True)
    model = make_model()
    trainer = Trainer(device=DEVICE, seed=0, strategy=DDPStrategy(sync_stop_every=2), callbacks=[stop_before],
                      checkpoint_dir=out / "stop_before_ckpt", checkpoint_every=100)
    history = trainer.fit(model, X, y, **{**FIT, "epochs": 50})
    _save(out, "stop_before", rank, trainer, history, model)

    # 5. a DataLoader without a DistributedSampler is refused; a Dataset is sharded by the trainer
    dataset = torch.utils.data.TensorDataset(X, y)
    try:
        Trainer(device=DEVICE, strategy="ddp").fit(make_model(), torch.utils.data.DataLoader(dataset, batch_size=8))
        message = None
    except ConfigError as exc:
        message = str(exc)
    model = make_model()
    trainer = Trainer(device=DEVICE, seed=0, strategy="ddp")
    history = trainer.fit(model, dataset, **FIT)
    _save(out, "dataset", rank, trainer, history, model)
    (out / f"loader_error-rank{rank}.txt").write_text(message or "")

    # 6. FSDP: parameters sharded over the two ranks (every Linear its own unit), gathered checkpoint
    model = make_model(seed=rank)
    trainer = Trainer(device=DEVICE, seed=0, strategy=FSDPStrategy(min_params=1), checkpoint_dir=out / "fsdp_ckpt")
    history = trainer.fit(model, X, y, **fit)
    _save(out, "fsdp", rank, trainer, history, model)

    # 7. fp16 loss scaling of sharded gradients is refused (on every rank, before any collective)
    try:
        Trainer(device=DEVICE, precision="fp16", strategy="fsdp").fit(make_model(), X, y, epochs=1)
        message = None
    except ConfigError as exc:
        message = str(exc)
    (out / f"fsdp_fp16_error-rank{rank}.txt").write_text(message or "")

    # 8. FSDP + EarlyStopping: "best" is epoch 0 (mode='max' on the loss); its sharded copy is gathered into the
    # checkpoint and restored into the plain model at the end
    model = make_model()
    trainer = Trainer(device=DEVICE, seed=0, strategy="fsdp", checkpoint_dir=out / "fsdp_es_ckpt",
                      callbacks=[EarlyStopping(monitor="loss", mode="max", patience=5)])
    history = trainer.fit(model, X, y, **{**FIT, "epochs": 2})
    _save(out, "fsdp_es", rank, trainer, history, model)


if __name__ == "__main__":
    if sys.argv[1] == "fail":
        if os.environ["RANK"] == "1":
            raise ValueError("boom from rank 1")
        time.sleep(60)  # torchrun stops this rank when rank 1 fails
    else:
        main(Path(sys.argv[1]))
