"""Keras models into the project's serving format: convert to an equivalent torch module, then export as any model.

:func:`to_torch_module` rebuilds a Keras model layer by layer as a ``torch.nn`` module with a copy of the weights
(``TTDense`` → ``TTLinear``, ``Dense`` → ``Linear``, ``SparseAttention``, ``Conv2D``/pooling in channels-last,
activations, ...), so the weights of a model trained on **any** backend (TensorFlow, JAX or PyTorch) go through
:func:`tesla_lab.serve.export.export_model`: TorchScript + ONNX and the same ``metadata.json``, served by the same
server as every torch model. A layer without a converter raises :class:`~tesla_lab.errors.ExportError` naming it.

>>> import numpy as np, torch
>>> from tesla_lab.keras import TTDense
>>> model = keras.Sequential([keras.Input((16,)), TTDense(8, tt_rank=2, activation="relu"), keras.layers.Dense(3)])
>>> x = np.random.default_rng(0).normal(size=(4, 16)).astype("float32")
>>> module = to_torch_module(model)
>>> expected = keras.ops.convert_to_numpy(model(x))
>>> bool(np.allclose(module(torch.from_numpy(x)).detach().numpy(), expected, atol=1e-5))
True
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from tesla_lab.errors import ExportError
from tesla_lab.keras._backend import backend, keras
from tesla_lab.keras.attention import SparseAttention
from tesla_lab.keras.network import Residual, TensorNetwork
from tesla_lab.keras.tt_dense import TTDense

__all__ = ["to_torch_module", "export_keras"]

# Keras activation function name -> torch module factory (keras' leaky_relu function uses slope 0.2)
_ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "linear": lambda nn: nn.Identity(), "relu": lambda nn: nn.ReLU(), "sigmoid": lambda nn: nn.Sigmoid(),
    "tanh": lambda nn: nn.Tanh(), "softmax": lambda nn: nn.Softmax(dim=-1), "gelu": lambda nn: nn.GELU(),
    "silu": lambda nn: nn.SiLU(), "swish": lambda nn: nn.SiLU(), "elu": lambda nn: nn.ELU(),
    "selu": lambda nn: nn.SELU(), "softplus": lambda nn: nn.Softplus(),
    "leaky_relu": lambda nn: nn.LeakyReLU(0.2), "log_softmax": lambda nn: nn.LogSoftmax(dim=-1),
}


def _np(variable: Any) -> np.ndarray:
    return np.asarray(variable.numpy(), dtype=np.float32)  # convert_to_numpy(variable) warns on numpy 2


def _activation(fn: Any, where: str) -> list[Any]:
    from torch import nn

    if fn is None:
        return []
    name = getattr(fn, "__name__", str(fn))
    if name not in _ACTIVATIONS:
        raise ExportError(f"cannot export the activation {name!r} of {where}; supported: {', '.join(_ACTIVATIONS)}")
    module = _ACTIVATIONS[name](nn)
    return [] if isinstance(module, nn.Identity) else [module]


def _channels_last(layer: Any) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ExportError(f"cannot export {layer.name!r}: only data_format='channels_last' (Keras' default) is "
                          "converted; build the model with channels_last")


def _nhwc(inner: Any) -> Any:
    """Wrap a torch NCHW module so it takes and returns Keras' NHWC tensors."""
    from torch import nn

    class NHWC(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: Any) -> Any:  # (N, H, W, C) -> (N, C, H, W) -> module -> (N, H', W', C')
            return self.inner(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)

    return NHWC()


def _is_functional(layer: Any) -> bool:
    """A functional ``keras.Model(inputs, outputs)`` (Keras' Functional class, which holds its graph's operations)."""
    return isinstance(layer, keras.Model) and hasattr(layer, "_operations") and not isinstance(layer, TensorNetwork)


def _convert(layer: Any) -> list[Any]:
    """Torch modules computing what ``layer`` computes in inference."""
    import torch
    from torch import nn

    from tesla_lab.nn.network import Residual as TorchResidual

    layers = keras.layers
    if isinstance(layer, layers.InputLayer):
        return []
    if isinstance(layer, TTDense):
        return [layer.to_torch(), *_activation(layer.activation, layer.name)]
    if isinstance(layer, SparseAttention):
        return [layer.to_torch().eval()]
    if isinstance(layer, Residual):
        return [TorchResidual(nn.Sequential(*[m for inner in layer.inner for m in _convert(inner)]))]
    if isinstance(layer, TensorNetwork):
        return [nn.Flatten(), *[m for inner in [*layer.body, layer.head] for m in _convert(inner)]]
    if isinstance(layer, keras.Sequential) or _is_functional(layer):
        return [m for inner in layer.layers for m in _convert(inner)]
    if isinstance(layer, keras.Model):
        raise ExportError(f"cannot export the subclassed Keras model {layer.name!r} ({type(layer).__name__}): its "
                          "call() is Python code that cannot be converted; build it as keras.Sequential or a "
                          "functional keras.Model, or use tesla_lab.keras.TensorNetwork")
    if isinstance(layer, layers.Dense):
        linear = nn.Linear(*_np(layer.kernel).shape, bias=layer.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(_np(layer.kernel).T.copy()))
            if layer.bias is not None:
                linear.bias.copy_(torch.from_numpy(_np(layer.bias)))
        return [linear, *_activation(layer.activation, layer.name)]
    if isinstance(layer, layers.Activation):
        return _activation(layer.activation, layer.name)
    if isinstance(layer, layers.LeakyReLU):
        return [nn.LeakyReLU(float(layer.negative_slope))]
    if isinstance(layer, layers.ReLU) and layer.max_value is None and not layer.negative_slope and not layer.threshold:
        return [nn.ReLU()]
    if isinstance(layer, layers.Softmax):
        return [nn.Softmax(dim=-1)]
    if isinstance(layer, (layers.Dropout, layers.Identity)):
        return []
    if isinstance(layer, layers.Flatten):
        return [nn.Flatten()]
    if isinstance(layer, layers.BatchNormalization) and layer.axis in (-1, [-1]):
        bn = nn.BatchNorm1d(int(layer.moving_mean.shape[0]), eps=float(layer.epsilon), affine=True)
        with torch.no_grad():
            bn.running_mean.copy_(torch.from_numpy(_np(layer.moving_mean)))
            bn.running_var.copy_(torch.from_numpy(_np(layer.moving_variance)))
            if layer.gamma is not None:
                bn.weight.copy_(torch.from_numpy(_np(layer.gamma)))
            if layer.beta is not None:
                bn.bias.copy_(torch.from_numpy(_np(layer.beta)))
        return [bn.eval()]
    if isinstance(layer, layers.Conv2D) and type(layer) is layers.Conv2D:
        _channels_last(layer)
        kernel = _np(layer.kernel)  # (kh, kw, in, out)
        conv = nn.Conv2d(kernel.shape[2] * layer.groups, kernel.shape[3], kernel.shape[:2], stride=layer.strides,
                         padding=0 if layer.padding == "valid" else "same", dilation=layer.dilation_rate,
                         groups=layer.groups, bias=layer.bias is not None)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            if layer.bias is not None:
                conv.bias.copy_(torch.from_numpy(_np(layer.bias)))
        return [_nhwc(conv), *_activation(layer.activation, layer.name)]
    if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)) and layer.padding == "valid":
        _channels_last(layer)
        pool = (nn.MaxPool2d if isinstance(layer, layers.MaxPooling2D) else nn.AvgPool2d)(
            tuple(layer.pool_size), stride=tuple(layer.strides))
        return [_nhwc(pool)]
    raise ExportError(
        f"cannot export the Keras layer {layer.name!r} ({type(layer).__name__}): tesla_lab.keras converts TTDense, "
        "Dense, SparseAttention, TensorNetwork, Conv2D, Max/AveragePooling2D (channels_last, 'valid' pooling), "
        "Flatten, BatchNormalization, Dropout and activation layers. Replace the layer, or save the model with "
        "model.save('m.keras') / model.export() (TensorFlow SavedModel) instead of the TESLA serving bundle"
    )


def to_torch_module(model: Any) -> Any:
    """An equivalent ``torch.nn`` module (eval mode, float32, CPU) with a copy of ``model``'s weights.

    ``model`` is a built Keras layer or model: ``Sequential``, a functional model whose layers form a chain (taken
    in order; :func:`export_keras` checks the result reproduces the model), a :class:`~tesla_lab.keras.TensorNetwork`,
    or a single layer. Works on every backend.
    """
    from torch import nn

    if not isinstance(model, keras.layers.Layer):
        raise ExportError(f"to_torch_module needs a Keras model or layer; got {type(model).__name__}")
    if not model.built:
        raise ExportError(f"the Keras model {model.name!r} is not built (its weights do not exist yet); call it on "
                          "a batch or fit it before exporting")
    if _is_functional(model) and (len(model.inputs) != 1 or len(model.outputs) != 1):
        raise ExportError(f"the functional model {model.name!r} has {len(model.inputs)} inputs and "
                          f"{len(model.outputs)} outputs; only a chain of layers (one input, one output) is converted")
    return nn.Sequential(*_convert(model)).eval()


def export_keras(model: Any, example_input: Any, out_dir: str | os.PathLike[str], **kwargs: Any) -> Any:
    """Export a Keras model as :func:`tesla_lab.serve.export.export_model` does a torch model (same bundle, same
    server), from any backend; ``kwargs`` are those of ``export_model`` (``class_labels``, ``pipeline``, ...).

    The converted module is checked against the Keras model on ``example_input`` (``rtol``/``atol`` of
    ``export_model``) before anything is written; the metadata records the Keras backend and version.

    >>> import tempfile
    >>> from tesla_lab.keras import TTDense
    >>> model = keras.Sequential([keras.Input((16,)), TTDense(4, tt_rank=2)])
    >>> info = export_keras(model, np.ones((4, 16), "float32"), tempfile.mkdtemp() + "/m", task="regression",
    ...                     formats=("torchscript",))
    >>> info.metadata["metadata"]["keras"]["backend"] == backend(), sorted(info.metadata["files"])
    (True, ['model.torchscript.pt'])
    """
    import torch

    from tesla_lab.serve.export import export_model

    module = to_torch_module(model)
    x = np.asarray(example_input, dtype=np.float32)
    expected = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=np.float32)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    rtol, atol = kwargs.get("rtol", 1e-4), kwargs.get("atol", 1e-5)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else float("nan")
        raise ExportError(f"the torch conversion of the Keras model {model.name!r} does not reproduce it on "
                          f"example_input (max abs difference {worst:.3g}, shapes {got.shape} vs {expected.shape}); "
                          "a layer converts wrongly: please report it with the model's summary()")
    meta = dict(kwargs.pop("metadata", None) or {})
    meta["keras"] = {"backend": backend(), "version": keras.__version__, "model": model.name}
    return export_model(module, x, out_dir, metadata=meta, **kwargs)
