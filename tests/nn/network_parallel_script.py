"""Run by tests/nn/test_network_parallel.py under torchrun (2 processes, gloo, CPU); writes results for the test.

``network_parallel_script.py OUT``: fits a small TensorNetwork whose added layer has ``data_parallel=True``, then
one whose added layer has ``model_parallel=True``; each rank writes ``OUT/<flag>-rank<R>.pt`` (final weights) and
``.json`` (history, strategy, world size and, for model_parallel, the parameter elements this rank stored for the
sharded layer during training).

The test imports ``make_data``/``make_net``/``FIT`` to train the one-process reference.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FIT = {"epochs": 3, "batch_size": 8}


def make_data():
    """24 samples of 8 features, integer labels 0..3 (MSE one-hot encodes them); batches of 8 split 4 + 4."""
    import torch

    g = torch.Generator().manual_seed(7)
    X = torch.randn(24, 8, generator=g)
    y = (X[:, :4].argmax(dim=1)).long()
    return X, y


def make_net(flag: str, seed: int = 0):
    import torch

    import tesla_lab as tesla

    torch.manual_seed(seed)
    net = tesla.TensorNetwork(input_dim=8, hidden_dim=8, output_dim=4, tt_rank=2)
    net.add_layer(input_dim=8, hidden_dim=16, output_dim=8, tt_rank=2, **{flag: True})
    net.compile(optimizer="adam", loss="mse", lr=0.01, seed=0)
    return net


def main(out: Path) -> None:
    import os

    import torch

    from tesla_lab.train import LambdaCallback
    from tesla_lab.train.model_parallel import local_numel, sharded_blocks

    rank = int(os.environ["RANK"])
    X, y = make_data()
    for flag in ("data_parallel", "model_parallel"):
        net = make_net(flag, seed=rank)  # different start weights per rank: the strategy syncs them
        full = sum(p.numel() for p in net.body[1].parameters())
        stored: list[int] = []

        def record(trainer, epoch, logs, stored=stored):
            blocks = sharded_blocks(trainer.model)  # the module being trained (the sharded copy)
            stored.append(sum(local_numel(block) for _, block in blocks))

        history = net.fit(X, y, callbacks=[LambdaCallback(on_epoch_end=record)], **FIT)
        torch.save({k: v.detach().cpu() for k, v in net.state_dict().items()}, out / f"{flag}-rank{rank}.pt")
        (out / f"{flag}-rank{rank}.json").write_text(json.dumps({
            "loss": history.history["loss"], "strategy": history.params.get("strategy"),
            "world_size": history.params.get("world_size"), "stored": stored, "full": full,
        }))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
