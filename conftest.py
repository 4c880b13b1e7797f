"""Root pytest configuration: the Keras tests run once per Keras backend, each in its own process.

Keras reads ``KERAS_BACKEND`` when it is first imported, so one process cannot test several backends. The main run
leaves ``tests/keras`` and the doctests of ``tesla_lab/keras`` out; ``make test-keras`` runs them once per backend
with ``TESLA_KERAS_BACKEND=tensorflow|jax|torch`` (or run them by hand with ``KERAS_BACKEND`` set).
"""

import os

_backend = os.environ.get("TESLA_KERAS_BACKEND")
if _backend:
    os.environ["KERAS_BACKEND"] = _backend  # before anything imports keras

collect_ignore = [] if os.environ.get("KERAS_BACKEND") else ["tests/keras", "tesla_lab/keras"]
