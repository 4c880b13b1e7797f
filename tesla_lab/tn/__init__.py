"""Tensor-network math on plain torch tensors: TT-SVD, TT-matrices, factorization of dimensions, contraction.

Names load on first use (PEP 562): the shape planning (:mod:`~tesla_lab.tn.factorize`, :mod:`~tesla_lab.tn.ranks`)
is plain Python, so backends without torch (``tesla_lab.keras`` on TensorFlow or JAX) use it without importing torch.

>>> import torch, tesla_lab.tn as tn
>>> tn.tt_svd(torch.ones(2, 3, 4)).ranks
(1, 1, 1, 1)
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the submodule that defines it
_NAMES = {
    "choose_plan": "autotune",
    **dict.fromkeys(("apply_plan", "choose_path", "contract_matrices", "core_matrices", "dense_flops",
                     "factorized_flops", "group_cores", "pair_matrices", "prepare_factorized", "tt_contract",
                     "tt_linear", "tt_matrix_full"), "contract"),
    "pair_contract": "pair",
    "Plan": "cost", "model_plan": "cost",
    "TTSVD": "decompose", "TensorTrain": "decompose", "tt_svd": "decompose",
    **dict.fromkeys(("check_shape", "factorize", "factorize_pair", "padded_size", "prime_factors",
                     "resolve_shapes"), "factorize"),
    "check_ranks": "ranks", "layer_ranks": "ranks", "core_std": "ranks",
    "TTMatrix": "tt_matrix",
}

__all__ = [
    "tt_svd",
    "TensorTrain",
    "TTSVD",
    "check_ranks",
    "layer_ranks",
    "core_std",
    "TTMatrix",
    "factorize",
    "factorize_pair",
    "padded_size",
    "resolve_shapes",
    "check_shape",
    "prime_factors",
    "tt_contract",
    "tt_matrix_full",
    "tt_linear",
    "factorized_flops",
    "dense_flops",
    "choose_path",
    "choose_plan",
    "model_plan",
    "Plan",
    "apply_plan",
    "group_cores",
    "core_matrices",
    "contract_matrices",
    "pair_matrices",
    "prepare_factorized",
    "pair_contract",
]


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'tesla_lab.tn' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tesla_lab.tn.{_NAMES[name]}"), name)
    globals()[name] = value  # next time: a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
