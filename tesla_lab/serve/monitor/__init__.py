"""Monitoring for a served model: a rotating JSON-lines request log, latency percentiles over a sliding window, and
input drift measured as the PSI (population stability index) of each feature against the training data.

At export, :func:`reference_profile` bins every training feature (quantile edges for numbers, the most frequent
values for text) and the profile is stored in ``metadata.json``. While serving, :class:`DriftMonitor` keeps the
last ``window`` scored rows and compares their distribution over the same bins:
``PSI = sum_i (q_i - p_i) * ln(q_i / p_i)`` with ``p`` the training and ``q`` the recent fractions. The usual reading
is PSI < 0.1 stable (``ok``), 0.1-0.25 some shift (``warn``), >= 0.25 a real shift (``alert``).

The package, one concept per module: :mod:`~.psi` (the statistic and its thresholds), :mod:`~.reference` (the
training profile and its bins), :mod:`~.drift`, :mod:`~.latency`, :mod:`~.request_log` and :mod:`~.metrics` (the
:class:`Monitor` that ties them together). Their loggers sit under ``tesla_lab.serve.monitor``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> profile = reference_profile(rng.normal(size=(5000, 1)), ["x"])
>>> drift = DriftMonitor(profile)
>>> drift.update(rng.normal(loc=1.0, size=(2000, 1)))   # requests shifted by one standard deviation
>>> drift.report()[["feature", "status"]].to_dict("records")
[{'feature': 'x', 'status': 'alert'}]
"""

from tesla_lab.serve.monitor.drift import DriftMonitor
from tesla_lab.serve.monitor.latency import LatencyWindow
from tesla_lab.serve.monitor.metrics import Monitor
from tesla_lab.serve.monitor.psi import PSI_ALERT, PSI_WARN, drift_status, psi
from tesla_lab.serve.monitor.reference import bin_fractions, reference_profile
from tesla_lab.serve.monitor.request_log import RequestLog

__all__ = [
    "PSI_WARN",
    "PSI_ALERT",
    "psi",
    "drift_status",
    "reference_profile",
    "bin_fractions",
    "DriftMonitor",
    "LatencyWindow",
    "RequestLog",
    "Monitor",
]
