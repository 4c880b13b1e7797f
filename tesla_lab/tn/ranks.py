"""TT ranks of a tensor-train layer, in plain Python (no torch): validation, clamping per cut, and the init scale.

Shared by every implementation of a TT layer (:class:`tesla_lab.nn.TTLinear` on PyTorch, ``tesla_lab.keras.TTDense``
on any Keras 3 backend), so the same arguments give the same cores and the same parameter count everywhere.

>>> layer_ranks(8, in_shape=(8, 8), out_shape=(4, 4))
[1, 8, 1]
>>> round(core_std(0.1, [1, 8, 1]), 4)
0.188
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

from tesla_lab.errors import ConfigError

__all__ = ["check_ranks", "layer_ranks", "core_std"]


def check_ranks(rank: int | Sequence[int], cuts: int, *, name: str = "max_rank") -> list[int]:
    """One TT rank per cut between consecutive cores (``cuts = d - 1``) from an int or a list, each an int >= 1.

    ``name`` words the error message (``'rank'`` for layers).

    >>> check_ranks(4, 3), check_ranks([2, 3], 2)
    ([4, 4, 4], [2, 3])
    >>> check_ranks([2, 3], 3, name="rank")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: rank as a list needs one rank per cut between cores, i.e. 3 entries (d - 1 for \
d = 4 cores); got 2: [2, 3]. Or pass a single int for all cuts, e.g. rank=8
    """
    if isinstance(rank, Sequence) and not isinstance(rank, str):
        ranks = list(rank)
        if len(ranks) != cuts:
            raise ConfigError(
                f"{name} as a list needs one rank per cut between cores, i.e. {cuts} entries (d - 1 for d = "
                f"{cuts + 1} cores); got {len(ranks)}: {ranks!r}. Or pass a single int for all cuts, e.g. {name}=8"
            )
    else:
        ranks = [rank] * cuts
    for r in ranks:  # numbers.Integral covers numpy integers
        if isinstance(r, bool) or not isinstance(r, numbers.Integral) or r < 1:
            raise ConfigError(f"TT ranks must be integers >= 1; got {name}={rank!r}. Typical values: 4 to 16")
    return [int(r) for r in ranks]


def layer_ranks(rank: int | Sequence[int], in_shape: Sequence[int], out_shape: Sequence[int], *,
                name: str = "rank") -> list[int]:
    """TT ranks ``[1, r_1, ..., r_{d-1}, 1]`` of a TT-matrix with modes ``(out_shape[k], in_shape[k])``.

    Each internal rank is clamped to the largest useful value at its cut, ``min(prod of the sizes left of it, prod
    right of it)``: a larger rank adds parameters but no expressiveness.

    >>> layer_ranks(16, in_shape=(2, 2, 2), out_shape=(2, 2, 2))
    [1, 4, 4, 1]
    """
    ranks = check_ranks(rank, len(in_shape) - 1, name=name)
    sizes = [m * n for m, n in zip(out_shape, in_shape)]
    return [1, *[min(r, math.prod(sizes[: k + 1]), math.prod(sizes[k + 1:])) for k, r in enumerate(ranks)], 1]


def core_std(sigma: float, ranks: Sequence[int]) -> float:
    """Std of each core's entries so that the rebuilt matrix has entries of std ``sigma`` (variance preserving).

    An entry of the rebuilt matrix is a sum over ``prod(internal ranks)`` products of ``d`` core entries, so its
    variance is ``R * s ** (2 d)``; solving for ``s`` gives ``(sigma / sqrt(R)) ** (1 / d)``.

    >>> core_std(0.5, [1, 1])  # one core: the matrix itself
    0.5
    """
    d = len(ranks) - 1
    return float((sigma / math.sqrt(math.prod(ranks[1:-1]))) ** (1.0 / d))
