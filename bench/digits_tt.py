"""Dense MLP vs TT-MLP on scikit-learn's digits (8x8 images, 10 classes; shipped with sklearn, no download).

Both models are ``64 -> H -> H -> 10`` with ReLU; in the TT-MLP the two hidden layers are ``TTLinear`` (the small
output layer stays dense in both). Same data split, standardisation, optimizer (Adam), epochs and batch size; each
seed trains both models from its own initialisation. Printed side by side: test accuracy (mean over seeds) and the
hidden-layer parameter count. Goal: >= 20x fewer hidden-layer parameters within 1 point of dense accuracy.

    python bench/digits_tt.py                       # CPU, a few seconds per seed
    python bench/digits_tt.py --hidden 512 --rank 8 --epochs 60 --seeds 5 --device cuda
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from tesla_lab.nn.tt_linear import TTLinear
from tesla_lab.utils import resolve_device, set_seed


def make_model(kind: str, hidden: int, rank: int) -> tuple[nn.Module, int]:
    """The MLP and its hidden-layer parameter count (first two layers, biases included)."""
    if kind == "dense":
        hidden_layers = [nn.Linear(64, hidden), nn.Linear(hidden, hidden)]
    else:
        hidden_layers = [TTLinear(64, hidden, rank=rank), TTLinear(hidden, hidden, rank=rank)]
    model = nn.Sequential(hidden_layers[0], nn.ReLU(), hidden_layers[1], nn.ReLU(), nn.Linear(hidden, 10))
    return model, sum(p.numel() for layer in hidden_layers for p in layer.parameters())


def train_and_score(model: nn.Module, data: tuple[torch.Tensor, ...], epochs: int, lr: float, batch_size: int) -> float:
    X_tr, y_tr, X_te, y_te = data
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(X_tr), device=X_tr.device).split(batch_size):
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X_tr[idx]), y_tr[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        return (model(X_te).argmax(1) == y_te).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N | auto")
    parser.add_argument("--seed", type=int, default=0, help="first seed; seeds are seed, seed+1, ...")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds to average over")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    device = resolve_device(args.device)

    X, y = load_digits(return_X_y=True)
    results: dict[str, list[float]] = {"dense": [], "tt": []}
    params: dict[str, int] = {}
    seconds: dict[str, float] = {"dense": 0.0, "tt": 0.0}
    for seed in range(args.seed, args.seed + args.seeds):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
        mean, std = X_tr.mean(0), X_tr.std(0) + 1e-6  # constant border pixels: keep them at 0
        data = (
            torch.tensor((X_tr - mean) / std, dtype=torch.float32, device=device),
            torch.tensor(y_tr, device=device),
            torch.tensor((X_te - mean) / std, dtype=torch.float32, device=device),
            torch.tensor(y_te, device=device),
        )
        for kind in ("dense", "tt"):
            set_seed(seed)
            model, params[kind] = make_model(kind, args.hidden, args.rank)
            t0 = time.perf_counter()
            results[kind].append(train_and_score(model.to(device), data, args.epochs, args.lr, args.batch_size))
            seconds[kind] += time.perf_counter() - t0

    tt_layers = make_model("tt", args.hidden, args.rank)[0]
    shapes = ", ".join(f"{m.in_shape}->{m.out_shape} ranks {m.ranks}" for m in tt_layers if isinstance(m, TTLinear))
    print(f"digits: 64 -> {args.hidden} -> {args.hidden} -> 10, {args.epochs} epochs, Adam lr {args.lr}, "
          f"batch {args.batch_size}, {args.seeds} seed(s), {device}")
    print(f"TT hidden layers: {shapes}")
    print(f"{'model':<6} {'test accuracy':>20} {'hidden params':>14} {'train s':>8}")
    for kind in ("dense", "tt"):
        accs = results[kind]
        spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"{kind:<6} {100 * statistics.mean(accs):>13.2f} ± {100 * spread:4.2f} {params[kind]:>14,} "
              f"{seconds[kind]:>8.1f}")
    gap = 100 * (statistics.mean(results["dense"]) - statistics.mean(results["tt"]))
    print(f"TT: {params['dense'] / params['tt']:.1f}x fewer hidden-layer parameters, "
          f"{gap:+.2f} points below dense (goal: >= 20x fewer, <= 1 point below)")


if __name__ == "__main__":
    main()
