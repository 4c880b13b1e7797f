"""The drift statistic: the PSI (population stability index) of two histograms over the same bins,
``PSI = sum_i (q_i - p_i) * ln(q_i / p_i)`` with ``p`` the training and ``q`` the recent fractions, and its usual
reading: below :data:`PSI_WARN` stable (``ok``), below :data:`PSI_ALERT` some shift (``warn``), else a real shift
(``alert``).

>>> drift_status(psi([0.5, 0.5], [0.9, 0.1]))
'alert'
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tesla_lab.errors import DataError

__all__ = ["PSI_WARN", "PSI_ALERT", "psi", "drift_status"]

PSI_WARN = 0.1
PSI_ALERT = 0.25
_EPS = 1e-4  # floor for empty bins: ln(q/p) stays finite and one empty bin adds at most ~0.001 * ln(1/eps)


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray, *, eps: float = _EPS) -> float:
    """Population stability index of ``actual`` against ``expected``, two histograms over the same bins (counts or
    fractions; each is normalised). Bins empty on either side are floored at ``eps`` so the value stays finite.

    >>> psi([0.5, 0.5], [0.5, 0.5])
    0.0
    >>> round(psi([0.5, 0.5], [0.9, 0.1]), 3)
    0.879
    >>> psi([1, 2], [1, 2, 3])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.DataError: psi needs two histograms over the same bins; got 2 and 3 bins
    """
    p = np.asarray(expected, dtype=np.float64)
    q = np.asarray(actual, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 1:
        raise DataError(f"psi needs two histograms over the same bins; got {p.size} and {q.size} bins")
    if (p < 0).any() or (q < 0).any() or p.sum() <= 0 or q.sum() <= 0:
        raise DataError("psi needs non-negative histograms with a positive total; got "
                        f"{p.tolist()[:6]} and {q.tolist()[:6]}")
    p = np.clip(p / p.sum(), eps, None)
    q = np.clip(q / q.sum(), eps, None)
    return float(np.sum((q - p) * np.log(q / p)))


def drift_status(value: float, *, warn: float = PSI_WARN, alert: float = PSI_ALERT) -> str:
    """``'ok'`` below ``warn``, ``'warn'`` below ``alert``, else ``'alert'``; NaN (too little data) is ``'n/a'``.

    >>> [drift_status(v) for v in (0.02, 0.1, 0.3, float("nan"))]
    ['ok', 'warn', 'alert', 'n/a']
    """
    if value is None or math.isnan(value):
        return "n/a"
    return "ok" if value < warn else "warn" if value < alert else "alert"
