"""``TorchModel``: a TESLA network (built from a ``build_model`` config) trained by :class:`~tesla_lab.train.Trainer`.

The families ``linear``, ``logistic``, ``mlp``, ``cnn`` and ``tt_mlp`` only differ in the config they write; this
class trains, predicts and saves all of them. Weights are saved with ``torch.save`` and read back with
``torch.load(weights_only=True)``, so loading a model never runs code.

>>> import numpy as np
>>> from tesla_lab.models import make_model
>>> X = np.random.default_rng(0).normal(size=(32, 4)).astype("float32"); y = X @ np.ones(4, dtype="float32")
>>> model = make_model("linear", n_features=4, n_outputs=1, task="regression")
>>> model.config["layers"][0]["units"], model.fit(X, y, epochs=60, lr=0.1, seed=0).evaluate(X, y)["r2"] > 0.95
(1, True)
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from tesla_lab.errors import DataError
from tesla_lab.models.base import Estimator, as_features
from tesla_lab.nn import build_model

__all__ = ["TorchModel"]

logger = logging.getLogger(__name__)


class TorchModel(Estimator):
    """A network from ``config`` (a :func:`~tesla_lab.nn.build_model` dict) with the loss that fits the task.

    Args:
        config: the network as plain data; ``build_model(config)`` rebuilds it.
        family, task, n_features, n_outputs, hparams: as for every :class:`Estimator`.
        loss: ``'cross_entropy'`` (C logits), ``'bce'`` (one logit, binary) or a regression loss (``'mse'``, ...).
    """

    framework = "torch"
    payload_name = "weights.pt"
    payload_kind = "model"  # what ModelRegistry.register_model(run_id=...) picks up
    payload_format = "torch"

    def __init__(self, config: dict[str, Any], *, family: str, task: str, n_features: int, n_outputs: int,
                 loss: str, hparams: dict[str, Any] | None = None) -> None:
        super().__init__(family=family, task=task, n_features=n_features, n_outputs=n_outputs, hparams=hparams)
        self.config = config
        self.loss = loss
        self.module = build_model(config)
        self.device = "auto"
        self.history_: Any = None

    @property
    def single_logit(self) -> bool:
        """True for a binary classifier with one output (sigmoid / BCE) instead of two."""
        return self.task == "classification" and self.loss in ("bce", "binary_cross_entropy", "bce_with_logits")

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        validation_data: tuple[Any, Any] | None = None,
        epochs: int = 10,
        batch_size: int = 32,
        optimizer: str = "adam",
        lr: float | None = None,
        loss: str | None = None,
        callbacks: Sequence[Any] = (),
        progress: bool = False,
        device: str = "auto",
        precision: str = "fp32",
        seed: int | None = None,
        grad_clip: float | None = None,
        resume: str | os.PathLike[str] | None = None,
    ) -> TorchModel:
        """Train with :class:`~tesla_lab.train.Trainer` and return ``self``; ``history_`` holds the History.

        ``callbacks`` are trainer callbacks (e.g. :class:`~tesla_lab.store.StoreCallback`); ``progress`` shows a
        tqdm bar over epochs; ``loss`` overrides the family's loss; ``resume`` is a checkpoint of this model to
        continue from (weights, optimizer, epoch count: ``epochs`` stays the total).
        """
        from tesla_lab.train import Trainer  # higher layer, imported where it is used

        if loss is not None:
            self.loss = loss
        X = as_features(X, self.n_features)
        y = self._targets(y)
        val = None
        if validation_data is not None:
            val = (as_features(validation_data[0], self.n_features), self._targets(validation_data[1]))
        metrics = ["accuracy"] if self.task == "classification" else []
        trainer = Trainer(device=device, precision=precision, seed=seed, callbacks=callbacks, progress=progress,
                          grad_clip=grad_clip)
        self.history_ = trainer.fit(self.module, X, y, optimizer=optimizer, loss_fn=self.loss, epochs=epochs,
                                    batch_size=batch_size, lr=lr, validation_data=val, metrics=metrics,
                                    resume=os.fspath(resume) if resume is not None else False)
        self.device = device
        self.is_fitted = True
        return self

    def _targets(self, y: Any) -> np.ndarray:
        y = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        if self.task == "classification":
            if y.dtype.kind not in "iub" and not (y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)):
                raise DataError(f"classification targets must be class indices 0..{self.n_outputs - 1}; got dtype "
                                f"{y.dtype} (a ModelBundle encodes labels for you)")
            y = y.astype(np.int64)
            if len(y) and (y.min() < 0 or y.max() >= self.n_outputs):
                raise DataError(f"class indices must lie in 0..{self.n_outputs - 1}; got values from {y.min()} to "
                                f"{y.max()}")
            return y.astype(np.float32) if self.single_logit else y  # BCE compares floats
        return y.astype(np.float32)

    def _scores(self, X: np.ndarray) -> np.ndarray:
        from tesla_lab.train import Trainer

        out = Trainer(device=self.device).predict(self.module, X).float()  # (N, outputs) on the CPU
        if self.task == "regression":
            return out.reshape(len(out), -1).numpy()
        if self.single_logit:
            p = torch.sigmoid(out.reshape(-1))
            return torch.stack([1 - p, p], dim=1).numpy()  # (N, 2)
        return torch.softmax(out, dim=1).numpy()

    def get_config(self) -> dict[str, Any]:
        """Everything needed to rebuild this model (weights excluded), as JSON-able data."""
        return {"framework": self.framework, "family": self.family, "task": self.task,
                "n_features": self.n_features, "n_outputs": self.n_outputs, "hparams": dict(self.hparams),
                "loss": self.loss, "model": self.config}

    def to_bytes(self) -> bytes:
        """The ``state_dict`` (CPU tensors) serialized with ``torch.save``."""
        buf = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.module.state_dict().items()}, buf)
        return buf.getvalue()

    @classmethod
    def from_config(cls, config: dict[str, Any], payload: bytes | None = None) -> TorchModel:
        """Rebuild from :meth:`get_config` (and the bytes of :meth:`to_bytes`, loaded with ``weights_only=True``)."""
        model = cls(config["model"], family=config["family"], task=config["task"],
                    n_features=int(config["n_features"]), n_outputs=int(config["n_outputs"]), loss=config["loss"],
                    hparams=config.get("hparams"))
        if payload is not None:
            try:
                state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
                model.module.load_state_dict(state)
            except Exception as exc:  # unpickling refused, or keys/shapes that do not match the config
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise DataError(f"the saved weights do not load into the {config['family']} model: {first}; the "
                                "weights and config were not saved together (save the model again)") from exc
            model.is_fitted = True
        return model
