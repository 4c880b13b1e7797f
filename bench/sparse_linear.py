"""SparseLinear at 50/90/99 % sparsity: saved bytes vs a dense ``nn.Linear``, and inference speed dense vs CSR.

For each sparsity a 1024 x 1024 ``nn.Linear`` is magnitude-pruned with :meth:`SparseLinear.from_linear`:

- saved bytes: ``torch.save`` of both ``state_dict``\\ s to memory; the ratio sparse / dense and how close
  :meth:`SparseLinear.memory_bytes` (the layer's own report) is to the file size;
- inference (eval, ``no_grad``), interleaved rounds with the order rotated, process CPU time on the CPU:
  ``dense`` = ``F.linear`` with the masked weight, ``csr`` = the layer forced onto ``torch.sparse.mm``
  (``sparse_inference_min=0``), ``auto`` = the layer with its default threshold (what users get). Reported: median
  time per call and the median (IQR) of the per-round ratio dense / csr. The threshold constant in
  ``tesla_lab/nn/sparse_linear.py`` (``_SPARSE_INFERENCE_MIN``) is set from this table.

    python bench/sparse_linear.py
    python bench/sparse_linear.py --device cuda --batches 1 64 1024
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from tesla_lab.nn import SparseLinear


def _file_size(state: dict[str, torch.Tensor]) -> int:
    buf = io.BytesIO()
    torch.save(state, buf)
    return len(buf.getvalue())


def _time(fn: Callable[[], torch.Tensor], device: torch.device, calls: int) -> float:
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t0 = clock()
    for _ in range(calls):
        fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return (clock() - t0) / calls


def _iqr(xs: list[float], scale: float = 1.0) -> str:
    q = statistics.quantiles(xs, n=4)
    return f"{statistics.median(xs) * scale:.3f} [{q[0] * scale:.3f}, {q[2] * scale:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--sparsities", type=float, nargs="+", default=[0.5, 0.9, 0.95, 0.99])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    n = args.size
    dense = torch.nn.Linear(n, n, device=device)
    dense_file = _file_size(dense.state_dict())
    print(f"torch {torch.__version__}, {device}, {torch.get_num_threads()} thread(s); {n}x{n} float32, "
          f"dense nn.Linear file {dense_file:,} bytes")
    print("sparsity  file bytes  file/dense  memory_bytes/file")
    layers = {}
    for s in args.sparsities:
        layer = SparseLinear.from_linear(dense, s).eval()
        size = _file_size(layer.state_dict())
        print(f"  {s:6.2f}  {size:10,}  {size / dense_file:10.3f}  {layer.memory_bytes() / size:17.3f}")
        layers[s] = layer
    print("inference ms per call (median [IQR]); dense/csr > 1 means CSR is faster")
    with torch.no_grad():
        for s, layer in layers.items():
            csr = SparseLinear.from_linear(layer, s).eval()
            csr.sparse_inference_min = 0.0
            weight = torch.where(layer.mask, layer.weight, 0.0)
            for batch in args.batches:
                x = torch.randn(batch, n, device=device)
                calls = max(1, 2048 // batch)
                sides: dict[str, Callable[[], torch.Tensor]] = {
                    "dense": lambda x=x, w=weight, b=layer.bias: F.linear(x, w, b),
                    "csr": lambda x=x, m=csr: m(x),
                    "auto": lambda x=x, m=layer: m(x),
                }
                for fn in sides.values():
                    fn()
                times: dict[str, list[float]] = {k: [] for k in sides}
                order = list(sides)
                for r in range(args.rounds):
                    for key in order[r % 3:] + order[:r % 3]:
                        times[key].append(_time(sides[key], device, calls))
                ratios = [d / c for d, c in zip(times["dense"], times["csr"])]
                auto = "csr" if layer._use_sparse_mm(x) else "dense"
                print(f"  sparsity {s:.2f} batch {batch:5d}: dense {_iqr(times['dense'], 1e3)}  csr "
                      f"{_iqr(times['csr'], 1e3)}  auto({auto}) {_iqr(times['auto'], 1e3)}  dense/csr {_iqr(ratios)}x")


if __name__ == "__main__":
    main()
