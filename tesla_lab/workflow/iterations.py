"""``iterations``: one training budget for every framework (``tesla train -p 100``, as the TESLA documents use it).

What an iteration is depends on the model: an epoch (one pass over the training rows) for torch and tensor-train
families, and the estimator's own iteration count for scikit-learn families: ``max_iter`` (logistic regression,
gradient boosting, SVM, ridge) or ``n_estimators`` (trees of a random forest). :func:`iteration_option` names the
option ``iterations`` sets; :func:`apply_iterations` sets it in a :class:`~tesla_lab.workflow.TrainConfig`.

>>> from tesla_lab.workflow import TrainConfig
>>> iteration_option("tt_mlp"), iteration_option("sklearn:logistic"), iteration_option("sklearn:random_forest")
('epochs', 'max_iter', 'n_estimators')
>>> apply_iterations(TrainConfig(framework="scikit-learn", family="sklearn:logistic", iterations=100)).model
{'max_iter': 100}
>>> apply_iterations(TrainConfig(framework="tt", iterations=7)).epochs
7
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tesla_lab.errors import ConfigError
from tesla_lab.models import FRAMEWORK_CHOICES, families, get_family
from tesla_lab.models.sklearn import ESTIMATORS

if TYPE_CHECKING:
    from tesla_lab.workflow.config import TrainConfig

__all__ = ["ITERATION_PARAMS", "iteration_option", "apply_iterations"]

#: The scikit-learn parameters that count iterations, in the order they are looked for.
ITERATION_PARAMS = ("max_iter", "n_estimators")


def _sklearn_option(kind: str) -> str | None:
    for path in ESTIMATORS[kind].values():  # classifier and regressor of a kind count iterations the same way
        module, _, name = path.rpartition(".")
        params = getattr(importlib.import_module(module), name)().get_params()
        for option in ITERATION_PARAMS:
            if option in params:
                return option
    return None


def iteration_option(family: str) -> str:
    """The option ``iterations`` sets for ``family``: ``'epochs'`` for torch families, ``'max_iter'`` or
    ``'n_estimators'`` (whichever the estimator has) for scikit-learn ones.

    >>> iteration_option("sklearn:knn")
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: iterations (-p) do not apply to family 'sklearn:knn': its estimator has no \
max_iter or n_estimators; leave iterations out, or choose a family that iterates: ...
    """
    fam = get_family(family)
    if fam.framework == "torch":
        return "epochs"
    option = _sklearn_option(fam.name.split(":", 1)[1])
    if option is None:
        iterating = [f for f in families("scikit-learn") if _sklearn_option(f.split(":", 1)[1])]
        raise ConfigError(f"iterations (-p) do not apply to family {fam.name!r}: its estimator has no "
                          f"{' or '.join(ITERATION_PARAMS)}; leave iterations out, or choose a family that iterates: "
                          f"{', '.join(iterating + families('torch'))}")
    return option


def apply_iterations(config: TrainConfig) -> TrainConfig:
    """``config`` with its ``iterations`` written into the option they mean for its family (the framework's
    default family when none is named): ``epochs``, or the estimator's ``max_iter`` / ``n_estimators`` in
    ``model``. Without ``iterations``, ``config`` itself.

    >>> from tesla_lab.workflow import TrainConfig
    >>> apply_iterations(TrainConfig(framework="scikit-learn", model={"n_estimators": 50}, iterations=100))
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: iterations=100 sets n_estimators of sklearn:random_forest, but the model options \
already set n_estimators=50; give one of them
    """
    if config.iterations is None:
        return config
    family = config.family or FRAMEWORK_CHOICES[config.framework]
    option = iteration_option(family)
    if option == "epochs":
        return config.replace(epochs=config.iterations)
    given = config.model.get(option)
    if given is not None and given != config.iterations:
        raise ConfigError(f"iterations={config.iterations} sets {option} of {family}, but the model options already "
                          f"set {option}={given!r}; give one of them")
    return config.replace(model={**config.model, option: config.iterations})
