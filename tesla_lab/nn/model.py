"""The Keras-like training surface shared by :class:`Sequential` and :class:`TensorNetwork`:
``compile`` → ``fit`` → ``evaluate`` / ``predict`` → ``summary``.

Models stay plain :class:`torch.nn.Module` objects: the methods below are a convenience over
:class:`tesla_lab.train.Trainer`, never a requirement. The trainer is a higher layer, so it is imported inside the
methods that delegate to it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from tesla_lab.errors import ConfigError, NotFittedError
from tesla_lab.loss import get_loss, is_classification_loss
from tesla_lab.nn.logits import final_activation
from tesla_lab.nn.summary import ModelSummary, summarize
from tesla_lab.optim import OPTIMIZERS, get_optimizer
from tesla_lab.utils import to_tensor

if TYPE_CHECKING:  # pragma: no cover
    from tesla_lab.train import Callback, History

__all__ = ["Model", "CompileConfig"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class CompileConfig:
    """What ``compile`` was given; stored with runs so training can be reproduced."""

    optimizer: str = "adam"
    loss: str = "mse"
    metrics: tuple[str, ...] = ()
    lr: float | None = None
    device: str = "auto"
    precision: str = "fp32"
    grad_clip: float | None = None
    seed: int | None = None


class Model(nn.Module):
    """Base class adding ``compile/fit/evaluate/predict/summary`` to a module whose ``forward`` is defined."""

    #: sample shape without the batch dimension, when known (used to build lazy layers and for summaries)
    input_shape: tuple[int, ...] | None = None

    # -- building ----------------------------------------------------------------------------------------------
    def is_built(self) -> bool:
        """True when every parameter exists (no lazy layer waits for its first input)."""
        if any(isinstance(p, UninitializedParameter) for p in self.parameters()):
            return False
        return all(getattr(m, "linear", True) is not None for m in self.modules())

    def build(self, input_shape: Sequence[int] | None = None) -> Model:
        """Create every lazy weight with a dry run on zeros of ``input_shape`` (one sample, no batch dim)."""
        shape = tuple(input_shape) if input_shape is not None else self.input_shape
        if shape is None:
            raise NotFittedError(
                f"{type(self).__name__} does not know its input shape; call build(input_shape=...) or give the "
                "first layer input_shape=/input_dim="
            )
        self.input_shape = shape
        if not self.is_built():
            was_training = self.training
            self.eval()
            with torch.no_grad():
                self(torch.zeros(2, *shape))
            self.train(was_training)
        return self

    # -- Keras surface ------------------------------------------------------------------------------------------
    def compile(  # type: ignore[override]  # Keras' compile, not nn.Module.compile (use torch.compile(model))
        self,
        optimizer: str | torch.optim.Optimizer = "adam",
        loss: str | Any = "mse",
        metrics: Sequence[str] | None = None,
        *,
        lr: float | None = None,
        device: str = "auto",
        precision: str = "fp32",
        grad_clip: float | None = None,
        seed: int | None = None,
    ) -> Model:
        """Choose optimizer, loss and metrics for :meth:`fit`; returns ``self``.

        ``optimizer``: a name (``'adam'``, ``'sgd'``, ...) or an optimizer over this model's parameters.
        ``loss``: ``'mse'``, ``'cross_entropy'``, ... or a callable. ``metrics``: e.g. ``['accuracy']``.
        """
        if isinstance(optimizer, str):
            OPTIMIZERS.get(optimizer)  # fail now, naming the choices, not at fit time
        # not a submodule: the loss must not join the layers (Sequential would run it) nor the state_dict
        object.__setattr__(self, "_loss", get_loss(loss))
        self._optimizer_spec = optimizer
        given = optimizer if isinstance(optimizer, torch.optim.Optimizer) else None
        self._optimizer: torch.optim.Optimizer | None = given
        self._compile = CompileConfig(
            optimizer=optimizer if isinstance(optimizer, str) else type(optimizer).__name__.lower(),
            loss=loss if isinstance(loss, str) else type(loss).__name__, metrics=tuple(metrics or ()), lr=lr,
            device=device, precision=precision, grad_clip=grad_clip, seed=seed,
        )
        return self

    def get_compile_config(self) -> CompileConfig:
        """What :meth:`compile` was given; raises :class:`~tesla_lab.errors.NotFittedError` before ``compile``.

        A method, not a property: ``hasattr(model, ...)`` (which ``torch.jit.trace`` calls on every attribute) must
        not raise on an uncompiled model.

        >>> from tesla_lab.nn import Sequential, Dense
        >>> model = Sequential([Dense(2, input_dim=3)])
        >>> model.get_compile_config()
        Traceback (most recent call last):
        ...
        tesla_lab.errors.NotFittedError: Sequential is not compiled yet; call model.compile(optimizer='adam', \
loss='cross_entropy') before fit/evaluate
        >>> model.compile(optimizer="sgd", loss="mse", lr=0.1).get_compile_config().optimizer
        'sgd'
        """
        if not hasattr(self, "_compile"):
            raise NotFittedError(
                f"{type(self).__name__} is not compiled yet; call model.compile(optimizer='adam', "
                "loss='cross_entropy') before fit/evaluate"
            )
        return self._compile

    def _trainer(self, **kwargs: Any) -> Any:
        from tesla_lab.train import Trainer  # higher layer: imported where it is used

        cfg = self.get_compile_config()
        return Trainer(device=cfg.device, precision=cfg.precision, grad_clip=cfg.grad_clip, seed=cfg.seed, **kwargs)

    def _build_from(self, X: Any) -> None:
        """Build lazy layers from the shape of the first samples of ``X`` (before the optimizer sees parameters)."""
        if self.is_built():
            return
        if isinstance(X, torch.utils.data.DataLoader):
            head = next(iter(X))[0]
        else:
            head = X.iloc[:2] if hasattr(X, "iloc") else X[:2]
        self.build(tuple(to_tensor(head, name="X").shape[1:]))

    def fit(
        self,
        X: Any,
        y: Any = None,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        validation_split: float = 0.0,
        validation_data: tuple[Any, Any] | None = None,
        callbacks: Sequence[Callback] = (),
        shuffle: bool = True,
        progress: bool = False,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        resume: bool | str = False,
    ) -> History:
        """Train on ``X, y`` (arrays, DataFrames, tensors, or a DataLoader as ``X``) and return the History."""
        cfg = self.get_compile_config()
        self._build_from(X)
        if self._optimizer is None:
            self._optimizer = get_optimizer(self._optimizer_spec, self.parameters(), lr=cfg.lr)
        trainer = self._trainer(callbacks=callbacks, progress=progress, checkpoint_dir=checkpoint_dir,
                                checkpoint_every=checkpoint_every)
        self.history = trainer.fit(
            self, X, y, optimizer=self._optimizer, loss_fn=self._loss, epochs=epochs, batch_size=batch_size,
            validation_split=validation_split, validation_data=validation_data, shuffle=shuffle,
            metrics=cfg.metrics, resume=resume,
        )
        return self.history

    def evaluate(self, X: Any, y: Any = None, *, batch_size: int = 256) -> dict[str, float]:
        """Loss and compiled metrics on ``X, y`` as a dict, e.g. ``{'loss': 0.12, 'accuracy': 0.97}``."""
        cfg = self.get_compile_config()
        self._build_from(X)
        return self._trainer().evaluate(self, X, y, loss_fn=self._loss, batch_size=batch_size, metrics=cfg.metrics)

    def predict(self, X: Any, *, batch_size: int = 256) -> np.ndarray:
        """Model outputs for ``X`` as a NumPy array: probabilities after a final softmax/sigmoid, else logits (see
        :meth:`predict_classes`)."""
        from tesla_lab.train import Trainer

        self._build_from(X)
        device = self._compile.device if hasattr(self, "_compile") else "auto"
        return Trainer(device=device).predict(self, X, batch_size=batch_size).numpy()

    def predict_classes(self, X: Any, *, batch_size: int = 256) -> np.ndarray:
        """Predicted class index per sample (argmax of the outputs; a single output: logit > 0, or probability
        > 0.5 after a final sigmoid)."""
        out = self.predict(X, batch_size=batch_size)
        if out.ndim == 2 and out.shape[1] > 1:
            return out.argmax(axis=1)
        threshold = 0.5 if isinstance(final_activation(self), nn.Sigmoid) else 0.0  # probability vs logit
        return (out.reshape(-1) > threshold).astype(np.int64)

    @property
    def is_classifier(self) -> bool:
        return hasattr(self, "_loss") and is_classification_loss(self._loss)

    def summary(self, input_shape: Sequence[int] | None = None) -> ModelSummary:
        """Per-layer output shapes, parameters and TT compression; ``print(model.summary())`` shows the table."""
        shape = tuple(input_shape) if input_shape is not None else self.input_shape
        return summarize(self, shape, self._summary_layers())

    def _summary_layers(self) -> list[tuple[str, nn.Module]] | None:
        """The rows of :meth:`summary` (default: the top-level children)."""
        return None

    # -- config ------------------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def _check_rank(rank: Any) -> None:
        ranks = rank if isinstance(rank, (list, tuple)) else [rank]
        if any(isinstance(r, bool) or not isinstance(r, int) or r < 1 for r in ranks):
            raise ConfigError(f"tt_rank must be a positive integer (or list of them); got {rank!r}. Try 4, 8 or 16")
