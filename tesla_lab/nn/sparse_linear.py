"""Unstructured sparse linear layer: :class:`SparseLinear`, whose pruned weights stay exactly zero.

The layer holds a dense ``weight`` and a boolean ``mask`` buffer (``True`` = kept). The forward pass uses
``where(mask, weight, 0)``, so the gradient of every masked entry is exactly zero and optimizers (momentum, Adam,
weight decay) never move a pruned weight off zero. In eval mode without autograd, a highly sparse layer multiplies
with a cached ``torch.sparse`` CSR copy of its weight instead of the dense one. Its ``state_dict`` stores only the
kept weights from 50 % sparsity on (:mod:`tesla_lab.nn.sparse_state`).

>>> import torch
>>> _ = torch.manual_seed(0)
>>> layer = SparseLinear(32, 16, sparsity=0.9)
>>> layer(torch.randn(4, 32)).shape, layer.nnz
(torch.Size([4, 16]), 51)
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.nn.sparse_state import compact_state, expand_state, saved_bytes

__all__ = ["SparseLinear", "check_sparsity"]

_LAYOUTS = ("csr", "coo")
# Sparsity at or above which inference multiplies with a CSR weight, for inputs of fewer than _BATCHED_ROWS rows and
# for more. CPU: bench/sparse_linear.py on a shared 2-core machine, torch 2.13, float32, 1024x1024, 1 thread,
# dense/CSR time: batch 1: 0.6x at 90% zeros, 1.0x at 95%, 1.9x at 99%; batch 4-64: 0.8-0.9x at 75%, 1.4-1.5x at
# 85%, 1.5-2x at 90%, 3.2x at 95%, 8x at 99%; hence 0.95 for one row and 0.85 for batches. CUDA: cuBLAS dense GEMMs
# usually beat cuSPARSE until ~95-99% zeros; 0.98 is a conservative guess (bench/sparse_linear.py --device cuda).
_SPARSE_INFERENCE_MIN = {"cpu": 0.95, "cuda": 0.98}
_SPARSE_INFERENCE_MIN_BATCHED = {"cpu": 0.85, "cuda": 0.98}
_BATCHED_ROWS = 4
_SPARSE_MM_DTYPES = {"cpu": (torch.float32, torch.float64), "cuda": (torch.float16, torch.bfloat16, torch.float32,
                                                                     torch.float64)}


def check_sparsity(sparsity: Any) -> float:
    """Return ``sparsity`` as a float, or raise :class:`~tesla_lab.errors.ConfigError` if it is outside [0, 1).

    >>> check_sparsity(0.9)
    0.9
    >>> check_sparsity(1.5)
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: sparsity must be in [0, 1): fraction of weights set to zero; got 1.5 \
(e.g. 0.9 keeps 10% of the weights)
    """
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) or not 0.0 <= float(sparsity) < 1.0:
        raise ConfigError(
            f"sparsity must be in [0, 1): fraction of weights set to zero; got {sparsity!r} "
            "(e.g. 0.9 keeps 10% of the weights)"
        )
    return float(sparsity)


def _zeros_for(sparsity: float, numel: int) -> int:
    """Number of entries to zero for a target ``sparsity`` (rounded half up, always keeping one entry)."""
    if numel == 0:
        return 0
    return min(int(math.floor(sparsity * numel + 0.5)), numel - 1)


def _smallest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` smallest entries of a 1-D ``scores`` (pruned entries carry -inf, so they come first)."""
    if k <= 0:
        return torch.empty(0, dtype=torch.long, device=scores.device)
    return torch.topk(scores, k, largest=False, sorted=False).indices


def _apply_mask_after_load(module: SparseLinear, incompatible_keys: Any) -> None:
    """Loaded weights may carry values under the mask; zero them (module-level so the layer stays picklable)."""
    module.apply_mask_()


class SparseLinear(nn.Module):
    """A linear layer ``y = x (W * mask)^T + b`` whose pruned weights stay exactly zero through training.

    ``sparsity`` > 0 at construction draws a random mask with that fraction of zeros and scales the kept weights by
    ``1 / sqrt(1 - sparsity)`` so the layer's output variance matches a dense ``nn.Linear`` (Kaiming-uniform) init.
    :meth:`from_linear` and :meth:`prune` instead remove the smallest-magnitude weights of trained layers.

    In eval mode, when no gradient is needed and the layer is at least ``sparse_inference_min`` sparse (default, as
    measured by bench/sparse_linear.py: on the CPU 0.85 for inputs of 4 rows or more and 0.95 for fewer; 0.98 on
    CUDA; ``1.0`` turns it off), the forward pass uses ``torch.sparse.mm`` with a CSR copy of
    the weight, cached until the weight or mask change.

    From 50 % sparsity its ``state_dict`` (what checkpoints and ``torch.save`` store) holds only the kept weights
    and a 1-bit-per-weight mask (:mod:`tesla_lab.nn.sparse_state`), about 0.13x a dense layer's file at 90 %;
    :meth:`memory_bytes` reports those bytes. ``load_state_dict`` reads that form and the dense one older versions
    saved. In memory the layer keeps the dense weight, which training needs.

    Optimizer state built *before* a :meth:`prune` (e.g. Adam moments) can still push newly pruned weights off zero
    at the next step; the forward pass ignores them either way, and :meth:`apply_mask_` (or a fresh optimizer)
    zeroes them again.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> layer = SparseLinear(64, 32, sparsity=0.75)
    >>> layer(torch.randn(8, 64)).shape
    torch.Size([8, 32])
    >>> layer.sparsity, layer.nnz, layer.num_params
    (0.75, 512, 544)
    >>> layer.to_sparse("csr").layout
    torch.sparse_csr
    """

    mask: torch.Tensor

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        sparsity: float = 0.0,
        sparse_inference_min: float | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f"{name} must be a positive int; got {value!r}")
        sparsity = check_sparsity(sparsity)
        if sparse_inference_min is not None and not (
            isinstance(sparse_inference_min, numbers.Real) and 0.0 <= sparse_inference_min <= 1.0
        ):
            raise ConfigError(
                f"sparse_inference_min must be in [0, 1] (1.0 turns the sparse inference path off) or None for the "
                f"device default; got {sparse_inference_min!r}"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.sparse_inference_min = sparse_inference_min
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(self.out_features, self.in_features, **factory))  # (out, in)
        self.bias = nn.Parameter(torch.empty(self.out_features, **factory)) if bias else None
        self.register_buffer("mask", torch.ones(self.out_features, self.in_features, dtype=torch.bool, device=device))
        self._cache: dict[str, tuple[tuple[Any, ...], Any]] = {}  # derived data: nnz, CSR weight, ...
        # Save only the kept weights when sparse enough; load both that and the dense form (sparse_state.py).
        self.register_state_dict_post_hook(compact_state)
        self.register_load_state_dict_pre_hook(expand_state)
        self.register_load_state_dict_post_hook(_apply_mask_after_load)
        self.reset_parameters(sparsity)

    def reset_parameters(self, sparsity: float | None = None) -> None:
        """Re-initialise like ``nn.Linear`` with a fresh random mask (``sparsity=None`` keeps the current level).

        >>> layer = SparseLinear(10, 10, sparsity=0.5)
        >>> layer.reset_parameters(0.8)
        >>> layer.sparsity
        0.8
        """
        sparsity = self.sparsity if sparsity is None else check_sparsity(sparsity)
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1.0 / math.sqrt(self.in_features)
                nn.init.uniform_(self.bias, -bound, bound)
            numel = self.weight.numel()
            k = _zeros_for(sparsity, numel)
            flat = torch.ones(numel, dtype=torch.bool)
            flat[torch.randperm(numel)[:k]] = False
            self.mask.copy_(flat.view_as(self.mask))
            # Keep Var(y) of the dense init: each output sums (1 - s) * in_features terms instead of in_features.
            self.weight.mul_(1.0 / math.sqrt(1.0 - k / numel))
            self.apply_mask_()

    @classmethod
    def from_linear(cls, linear: nn.Linear, sparsity: float = 0.9) -> SparseLinear:
        """Copy a trained ``nn.Linear`` and remove its ``sparsity`` fraction of smallest-magnitude weights.

        >>> import torch
        >>> dense = torch.nn.Linear(20, 5)
        >>> sparse = SparseLinear.from_linear(dense, sparsity=0.9)
        >>> sparse.nnz, bool((sparse.weight[sparse.mask] == dense.weight[sparse.mask]).all())
        (10, True)
        """
        if not isinstance(linear, (nn.Linear, SparseLinear)):
            raise ConfigError(f"from_linear expects a torch.nn.Linear; got {type(linear).__name__}")
        sparsity = check_sparsity(sparsity)
        weight = linear.weight
        layer = cls(
            linear.in_features,
            linear.out_features,
            bias=linear.bias is not None,
            sparse_inference_min=getattr(linear, "sparse_inference_min", None),
            device=weight.device,
            dtype=weight.dtype,
        )
        with torch.no_grad():
            layer.weight.copy_(weight)
            if linear.bias is not None:
                layer.bias.copy_(linear.bias)  # type: ignore[union-attr]
            if isinstance(linear, SparseLinear):
                layer.mask.copy_(linear.mask)
        layer.train(linear.training)
        return layer.prune(sparsity)

    # ----------------------------------------------------------------------------------------------- pruning
    def prune(self, sparsity: float) -> SparseLinear:
        """Zero the smallest-magnitude kept weights until ``sparsity`` of them are zero; returns ``self``.

        Monotone: already pruned weights stay pruned, and a target below the current sparsity changes nothing.

        >>> layer = SparseLinear(10, 10)
        >>> layer.prune(0.5).sparsity, layer.prune(0.2).sparsity
        (0.5, 0.5)
        """
        sparsity = check_sparsity(sparsity)
        k = _zeros_for(sparsity, self.weight.numel())
        if k > self.weight.numel() - self.nnz:
            with torch.no_grad():
                self.mask.view(-1)[_smallest(self._scores(), k)] = False
                self.apply_mask_()
        return self

    def _scores(self) -> torch.Tensor:
        """Flat magnitudes with pruned entries at -inf, so "the k smallest" always includes them first; (out*in,)."""
        scores = self.weight.detach().abs().float().flatten()
        return scores.masked_fill(~self.mask.flatten(), -math.inf)

    def apply_mask_(self) -> SparseLinear:
        """Set every masked weight to exactly zero in place (after loading weights or an outside update).

        >>> layer = SparseLinear(4, 4, sparsity=0.5)
        >>> _ = layer.weight.data.fill_(1.0)
        >>> float(layer.apply_mask_().weight.detach().sum())
        8.0
        """
        with torch.no_grad():
            self.weight.masked_fill_(~self.mask, 0.0)
        return self

    # ----------------------------------------------------------------------------------------------- statistics
    @property
    def nnz(self) -> int:
        """Number of kept (unmasked) weights."""
        return int(self.mask.sum())

    @property
    def sparsity(self) -> float:
        """Actual fraction of masked weights, in [0, 1)."""
        return 1.0 - self.nnz / self.mask.numel()

    @property
    def num_params(self) -> int:
        """Kept weights plus bias entries (the parameters a sparse export stores)."""
        return self.nnz + (self.bias.numel() if self.bias is not None else 0)

    def memory_bytes(self, layout: str = "saved") -> int:
        """Bytes of this layer's weights in a given form.

        ``'saved'`` (default): the tensor bytes of its ``state_dict``, i.e. what ``torch.save`` writes (plus a
        few hundred bytes of file structure): at 50 % sparsity or more only the kept weights and a 1-bit-per-entry
        mask (:mod:`tesla_lab.nn.sparse_state`), below it the dense weight and a bool mask. ``'csr'``/``'coo'``:
        a :meth:`to_sparse` export with int64 indices. The dense bias is counted in each.

        >>> layer = SparseLinear(100, 10, sparsity=0.9)
        >>> layer.memory_bytes(), layer.memory_bytes("csr"), layer.memory_bytes("coo")
        (565, 1328, 2040)
        """
        nnz, elem = self.nnz, self.weight.element_size()
        bias = self.bias.numel() if self.bias is not None else 0
        if str(layout).lower() == "saved":
            return saved_bytes(self.weight.numel(), nnz, elem, bias)
        layout = self._check_layout(layout)
        index = 8  # int64, torch's default index dtype
        if layout == "csr":
            body = nnz * (elem + index) + (self.out_features + 1) * index
        else:
            body = nnz * (elem + 2 * index)
        return body + bias * elem

    @staticmethod
    def _check_layout(layout: str) -> str:
        key = str(layout).lower()
        if key not in _LAYOUTS:
            raise ConfigError(f"unknown sparse layout {layout!r}; choose one of: {', '.join(_LAYOUTS)} "
                              "(memory_bytes also takes 'saved')")
        return key

    def to_sparse(self, layout: str = "csr") -> torch.Tensor:
        """The masked weight (out, in) as a detached ``torch.sparse`` tensor storing exactly the kept entries.

        >>> layer = SparseLinear(6, 3, sparsity=0.5)
        >>> s = layer.to_sparse("coo")
        >>> s.layout, s._nnz(), bool(torch.equal(s.to_dense(), layer.weight * layer.mask))
        (torch.sparse_coo, 9, True)
        """
        layout = self._check_layout(layout)
        with torch.no_grad():
            mask = self.mask
            values = self.weight.detach()[mask]  # (nnz,), row-major order, same as mask.nonzero()
            index = mask.nonzero()  # (nnz, 2)
            size = tuple(self.weight.shape)
            if layout == "coo":
                return torch.sparse_coo_tensor(
                    index.t(), values, size, is_coalesced=True, check_invariants=False
                )
            crow = torch.zeros(self.out_features + 1, dtype=torch.int64, device=mask.device)
            crow[1:] = mask.sum(dim=1).cumsum(0)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                return torch.sparse_csr_tensor(crow, index[:, 1].contiguous(), values, size, check_invariants=False)

    # ----------------------------------------------------------------------------------------------- forward
    def _cached(self, name: str, build: Callable[[], Any]) -> Any:
        """``build()`` cached until the weight or mask change (in place, by an optimizer, ``.to()``, loading)."""
        w, m = self.weight, self.mask
        if w.is_inference() or m.is_inference():  # no version counter to key on: don't cache
            return build()
        key = (w._version, m._version, w.data_ptr(), m.data_ptr(), w.dtype, w.device)
        hit = self._cache.get(name)
        if hit is None or hit[0] != key:
            # Build normal tensors even under inference_mode, so the cache stays usable outside it.
            with torch.inference_mode(False), torch.no_grad():
                hit = self._cache[name] = (key, build())
        return hit[1]

    def _use_sparse_mm(self, x: torch.Tensor) -> bool:
        """Sparse inference only where it is exact and cheaper: supported device/dtype, no autocast, sparse enough."""
        kind = self.weight.device.type
        if kind not in _SPARSE_INFERENCE_MIN or torch.is_autocast_enabled():
            return False
        if self.weight.dtype not in _SPARSE_MM_DTYPES[kind] or x.dtype != self.weight.dtype:
            return False
        if self.sparse_inference_min is not None:
            threshold = self.sparse_inference_min
        elif x.numel() >= _BATCHED_ROWS * self.in_features:
            threshold = _SPARSE_INFERENCE_MIN_BATCHED[kind]
        else:
            threshold = _SPARSE_INFERENCE_MIN[kind]
        if threshold >= 1.0:
            return False
        # Compare zero counts, not floats: prune(0.9) rounds to the nearest count, which may sit just under 0.9.
        # The count is cached so inference does not sync with the GPU on every call.
        numel = self.mask.numel()
        return numel - self._cached("nnz", lambda: self.nnz) >= _zeros_for(threshold, numel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` (..., in_features) → (..., out_features)."""
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"SparseLinear expects input of shape (..., in_features={self.in_features}); got shape "
                f"{tuple(x.shape)}. Check the previous layer's output width or this layer's in_features"
            )
        if self.training or (torch.is_grad_enabled() and (self.weight.requires_grad or x.requires_grad)):
            # where() (not weight * mask): masked gradients are exactly 0 even for an inf/NaN upstream gradient.
            return F.linear(x, torch.where(self.mask, self.weight, 0.0), self.bias)
        if self._use_sparse_mm(x):
            lead = x.shape[:-1]
            x2 = x.reshape(-1, self.in_features)  # (N, in)
            csr = self._cached("csr", lambda: self.to_sparse("csr"))
            y = torch.sparse.mm(csr, x2.t()).t()  # (out, in) @ (in, N) → (N, out)
            if self.bias is not None:
                y = y + self.bias
            return y.reshape(*lead, self.out_features)
        # Inference with the dense weight: skip the where() copy when masked entries are already zero (the usual case).
        clean = self._cached("clean", lambda: not bool(self.weight[~self.mask].any()))
        weight = self.weight if clean else torch.where(self.mask, self.weight, 0.0)
        return F.linear(x, weight, self.bias)

    def get_config(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this layer (weights and mask come from the state dict).

        >>> SparseLinear(4, 2, sparsity=0.5).get_config()
        {'in_features': 4, 'out_features': 2, 'bias': True, 'sparsity': 0.5, 'sparse_inference_min': None}
        """
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "sparsity": self.sparsity,
            "sparse_inference_min": self.sparse_inference_min,
        }

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}, "
            f"sparsity={self.sparsity:.3f}"
        )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = {}  # derived data; rebuilt on demand after copy/pickle
        return state


