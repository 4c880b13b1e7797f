"""Trainer overhead: ``Trainer.fit`` vs a hand-written PyTorch loop on the same MLP and on-device data.

Both sides train the same MLP (784 -> 1024 -> 1024 -> 10, Adam, cross entropy) from the same initial weights on
the same synthetic data, already on the device. The raw loop is what a careful engineer writes: one randperm per
epoch on the device, index batches, ``zero_grad(set_to_none=True)``, the epoch loss accumulated on the device and
read once per epoch (no ``.item()`` per step) -- the same tensor ops the trainer issues, so the ratio is the
trainer's own overhead (hooks, stop flag, shape probe, history, setup). Runs are interleaved (raw, trainer,
trainer, raw, ...) and medians are reported, so drift in machine load hits both sides alike. Target: ratio <= 1.03.

    python bench/trainer_overhead.py                      # CPU, and CUDA when present
    python bench/trainer_overhead.py --device cuda --epochs 3 --batch-size 64 --samples 60000

PyTorch Lightning is timed too when it is importable (it is not a dependency; nothing is installed).
"""

from __future__ import annotations

import argparse
import copy
import logging
import statistics
import time

import torch

from tesla_lab.train import LambdaCallback, Trainer


def make_mlp(d_in: int, hidden: int, d_out: int) -> torch.nn.Module:
    return torch.nn.Sequential(
        torch.nn.Linear(d_in, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, d_out),
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def clock_for(device: torch.device):
    # CPU: this process's CPU time, which other jobs on a shared machine do not inflate (the runs are
    # single-threaded by default, so CPU time == compute time). GPU: wall time around synchronised epochs.
    return time.process_time if device.type == "cpu" else time.perf_counter


def raw_loop(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int,
             clock=time.perf_counter) -> list[float]:
    """The reference: a plain on-device loop. Returns per-epoch times."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = len(X)
    times = []
    model.train()
    for _ in range(epochs):
        t0 = clock()
        perm = torch.randperm(n, device=X.device)
        total = torch.zeros((), dtype=torch.float64, device=X.device)
        for idx in perm.split(batch_size):
            xb, yb = X[idx], y[idx]
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total.add_(loss.detach(), alpha=len(idx))  # epoch loss kept on device
        _ = (total / n).item()  # the one sync per epoch, as the trainer does
        times.append(clock() - t0)
    return times


def trainer_fit(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int,
                clock=time.perf_counter) -> list[float]:
    """Trainer.fit; per-epoch times taken by a callback with the same clock as the raw loop (on_epoch_end runs
    after the epoch's one synchronisation, so GPU work is done by then)."""
    starts: list[float] = []
    times: list[float] = []
    timer = LambdaCallback(on_epoch_begin=lambda t, e, logs: starts.append(clock()),
                           on_epoch_end=lambda t, e, logs: times.append(clock() - starts[-1]))
    Trainer(device=X.device, callbacks=[timer]).fit(model, X, y, optimizer="adam", lr=1e-3, loss_fn="cross_entropy",
                                                     epochs=epochs, batch_size=batch_size)
    return times


def lightning_fit(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int,
                  clock=None) -> list[float]:
    device = X.device
    try:
        import lightning.pytorch as pl
    except ImportError:
        import pytorch_lightning as pl  # raises ImportError when neither is installed

    class Lit(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = model
            self.loss_fn = torch.nn.CrossEntropyLoss()

        def training_step(self, batch, batch_idx):
            xb, yb = batch
            return self.loss_fn(self.net(xb), yb)

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    class Batches(torch.utils.data.Dataset):  # whole-batch gathers on device, no per-sample collate
        def __len__(self) -> int:
            return len(X)

        def __getitem__(self, idx):
            idx = torch.as_tensor(idx, device=X.device)
            return X[idx], y[idx]

    sampler = torch.utils.data.BatchSampler(torch.utils.data.RandomSampler(range(len(X))), batch_size, False)
    loader = torch.utils.data.DataLoader(Batches(), sampler=sampler, batch_size=None)
    trainer = pl.Trainer(max_epochs=epochs, accelerator="gpu" if device.type == "cuda" else "cpu", devices=1,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(Lit(), loader)
    return []


def bench(device: torch.device, epochs: int, batch_size: int, samples: int, repeats: int, hidden: int) -> None:
    torch.manual_seed(0)
    X = torch.randn(samples, 784, device=device)
    y = torch.randint(0, 10, (samples,), device=device)
    base = make_mlp(784, hidden, 10).to(device)

    clock = clock_for(device)

    def timed(fn):
        model = copy.deepcopy(base)
        _sync(device)
        t0 = clock()
        epoch_times = fn(model, X, y, epochs, batch_size, clock)
        _sync(device)
        return clock() - t0, epoch_times

    timed(raw_loop)  # warm-up both (allocator, kernels, lazy init)
    timed(trainer_fit)
    raw_total, tr_total, raw_epoch, tr_epoch = [], [], [], []
    for r in range(repeats):
        order = [("raw", raw_loop), ("trainer", trainer_fit)]
        for name, fn in order if r % 2 == 0 else order[::-1]:
            total, per_epoch = timed(fn)
            (raw_total if name == "raw" else tr_total).append(total)
            (raw_epoch if name == "raw" else tr_epoch).extend(per_epoch)
    med = statistics.median
    steps = -(-samples // batch_size)
    threads = f", {torch.get_num_threads()} CPU thread(s), process CPU time" if device.type == "cpu" else \
        ", wall time"
    print(f"[{device}] MLP 784-{hidden}-{hidden}-10, {samples} samples, batch {batch_size} ({steps} steps/epoch), "
          f"{epochs} epochs, {repeats} interleaved repeats{threads}")
    print(f"  raw loop      : {med(raw_total):8.3f} s per fit   {med(raw_epoch) * 1e3:9.1f} ms per epoch")
    print(f"  Trainer.fit   : {med(tr_total):8.3f} s per fit   {med(tr_epoch) * 1e3:9.1f} ms per epoch")
    per_step = (med(tr_epoch) - med(raw_epoch)) / steps * 1e6
    print(f"  ratio Trainer/raw: epoch {med(tr_epoch) / med(raw_epoch):.3f}x (target <= 1.03; {per_step:+.1f} us/step),"
          f" whole fit incl. setup and input checks {med(tr_total) / med(raw_total):.3f}x")
    try:
        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
        logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
        timed(lightning_fit)
        lit = [timed(lightning_fit)[0] for _ in range(max(1, repeats // 2))]
        print(f"  Lightning     : {med(lit):8.3f} s per fit   ratio Lightning/raw {med(lit) / med(raw_total):.3f}x")
    except ImportError:
        print("  Lightning     : not installed (skipped)")
    except Exception as exc:  # an optional comparison must not hide the main result
        print(f"  Lightning     : failed ({type(exc).__name__}: {exc})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="all", help="'cpu', 'cuda', 'cuda:N', or 'all' (CPU, then CUDA if any)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=None, help="default: 2048 on CPU, 60000 on CUDA")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads for torch (default 1: with 2+ threads, any other load on the machine "
                             "stalls intra-op parallel regions and swamps the comparison with noise)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "all" else [args.device]
    for name in devices:
        if name.startswith("cuda") and not torch.cuda.is_available():
            print("[cuda] not available here (skipped)")
            continue
        device = torch.device(name)
        samples = args.samples or (60000 if device.type == "cuda" else 2048)
        bench(device, args.epochs, args.batch_size, samples, args.repeats, args.hidden)


if __name__ == "__main__":
    main()
