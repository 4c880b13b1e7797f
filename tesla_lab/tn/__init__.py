"""Tensor-network math on plain torch tensors: TT-SVD, TT-matrices, factorization of dimensions, contraction.

>>> import torch, tesla_lab.tn as tn
>>> tn.tt_svd(torch.ones(2, 3, 4)).ranks
(1, 1, 1, 1)
"""

from tesla_lab.tn.autotune import choose_plan
from tesla_lab.tn.contract import (
    apply_plan,
    choose_path,
    contract_matrices,
    core_matrices,
    dense_flops,
    factorized_flops,
    group_cores,
    tt_contract,
    tt_linear,
    tt_matrix_full,
)
from tesla_lab.tn.cost import Plan, model_plan
from tesla_lab.tn.decompose import TTSVD, TensorTrain, check_ranks, tt_svd
from tesla_lab.tn.factorize import check_shape, factorize, factorize_pair, padded_size, prime_factors, resolve_shapes
from tesla_lab.tn.tt_matrix import TTMatrix

__all__ = [
    "tt_svd",
    "TensorTrain",
    "TTSVD",
    "check_ranks",
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
]
