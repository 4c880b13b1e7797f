"""AutoML: Optuna searches over model families (linear, MLP, TT-MLP, scikit-learn) and their hyper-parameters
within a time budget and a trial count; every trial is a run in the project store, the best model is registered.
Optuna is an optional dependency: ``pip install 'tesla-lab[automl]'``.

The package itself is callable, so ``tesla.automl(data, target, time_budget=60)`` runs
:func:`tesla_lab.automl.search.automl` while ``tesla.automl.AutoMLConfig`` & co. stay reachable (re-exporting the
function as ``tesla_lab.automl`` would shadow this package).

>>> import tesla_lab.automl
>>> tesla_lab.automl.default_families("classification")
['logistic', 'mlp', 'tt_mlp', 'sklearn:random_forest', 'sklearn:logistic']
>>> tesla_lab.automl("iris", project=".", max_trials=0)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: max_trials must be an integer >= 1; got 0
"""

import sys
import types
from typing import Any

from tesla_lab.automl.config import PROJECT_STORAGE, AutoMLConfig
from tesla_lab.automl.leaderboard import COLUMNS, TRIAL_STATUSES, TrialRecord, count_params, leaderboard
from tesla_lab.automl.pruning import PRUNERS, PruningCallback, make_pruner
from tesla_lab.automl.scoring import TASK_METRICS, maximize, resolve_metric, validation_score
from tesla_lab.automl.search import AutoMLResult, TrialCallback, automl, import_optuna, run_automl
from tesla_lab.automl.space import (
    FIT_OPTIONS,
    Choice,
    FamilySpace,
    Fixed,
    Float,
    Int,
    default_families,
    register_space,
    search_space,
    space_families,
)
from tesla_lab.automl.workers import join_search
from tesla_lab.errors import AutoMLError

__all__ = [
    "automl", "run_automl", "AutoMLConfig", "AutoMLResult", "AutoMLError", "TrialCallback", "import_optuna",
    "PROJECT_STORAGE", "TrialRecord", "leaderboard", "count_params", "COLUMNS", "TRIAL_STATUSES",
    "TASK_METRICS", "resolve_metric", "maximize", "validation_score",
    "FamilySpace", "Int", "Float", "Choice", "Fixed", "FIT_OPTIONS", "search_space", "default_families",
    "space_families", "register_space", "join_search", "PRUNERS", "make_pruner", "PruningCallback",
]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> AutoMLResult:
        return automl(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
