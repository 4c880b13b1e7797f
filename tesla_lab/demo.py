"""``python -m tesla_lab.demo``: train a dense MLP and a tensor-train MLP on scikit-learn's digits (shipped with
scikit-learn, no network) and log their accuracy and parameter counts side by side.

This is what ``make run`` starts until the dashboard lands (issue 4).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
from sklearn.datasets import load_digits

import tesla_lab as tesla

log = logging.getLogger("tesla_lab.demo")


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target
    X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]
    results = {}
    for name, rank in (("dense", None), ("tensor-train", 4)):
        model = tesla.TensorNetwork(64, 256, 10, tt_rank=rank or 1, input_layer="dense" if rank is None else "tt")
        model.add_layer("dense" if rank is None else "tt", 256, tt_rank=rank)
        model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"], lr=3e-3, device=args.device,
                      seed=args.seed)
        model.fit(X_train, y_train, epochs=args.epochs, batch_size=64)
        summary = model.summary()
        log.info("%s model:\n%s", name, summary)
        acc = model.evaluate(X_test, y_test)["accuracy"]
        results[name] = {"accuracy": acc, "params": summary.total_params}
        log.info("%s: test accuracy %.3f with %d parameters\n", name, acc, summary.total_params)
    ratio = results["dense"]["params"] / results["tensor-train"]["params"]
    log.info("tensor-train model: %.1fx fewer parameters, accuracy %.3f vs %.3f (dense)", ratio,
             results["tensor-train"]["accuracy"], results["dense"]["accuracy"])
    return results


if __name__ == "__main__":
    main()
