"""``AutoMLConfig``: the options of one AutoML search, built the same way by Python, the CLI and the UI.

The data options (dataset, target, features, task, splits, preprocessing, device, seed) mean what they mean in
:class:`~tesla_lab.workflow.TrainConfig` and are checked by it; the search options are checked here. A bad value
raises :class:`~tesla_lab.errors.ConfigError` naming the option, the value and what is allowed.

>>> cfg = AutoMLConfig(dataset="wine", time_budget=30, max_trials=20, families=["mlp", "tt_mlp"])
>>> AutoMLConfig.from_dict(cfg.to_dict()) == cfg
True
>>> AutoMLConfig(time_budget=0)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: time_budget must be a positive number of seconds; got 0
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tesla_lab.automl.pruning import check_pruner
from tesla_lab.automl.space import space_families
from tesla_lab.automl.study import JOURNAL_SCHEME, journal_path
from tesla_lab.errors import ConfigError
from tesla_lab.models import get_family
from tesla_lab.workflow import TrainConfig

__all__ = ["AutoMLConfig", "PROJECT_STORAGE"]

PROJECT_STORAGE = "project"  # storage= shortcut: the store's PostgreSQL database, else .tesla/optuna.db
_SHARED = ("dataset", "target", "features", "task", "seed", "device", "test_size", "val_size", "preprocessing",
           "max_categories")


def _families(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"families must be a non-empty list of model family names (e.g. ['mlp', 'tt_mlp']) or "
                          f"None for the defaults; got {value!r}")
    names = []
    for item in value:
        name = get_family(item).name  # unknown: the registry's error listing every family
        if name not in space_families():
            raise ConfigError(f"AutoML has no search space for family {item!r}; choose from: "
                              f"{', '.join(space_families())}")
        if name not in names:
            names.append(name)
    return names


@dataclass
class AutoMLConfig:
    """Everything that decides an AutoML search.

    Args:
        dataset, target, features, task, seed, device, test_size, preprocessing, max_categories: as in
            :class:`~tesla_lab.workflow.TrainConfig` (``seed`` / ``device`` ``None``: the project's defaults).
        val_size: the validation fraction (or row count) every trial is scored on; must be > 0. The test split
            is only used once, to evaluate the final model.
        families: model families to search (default: :func:`~tesla_lab.automl.default_families` of the task).
        metric: the validation metric (default: accuracy / R²; see :data:`~tesla_lab.automl.TASK_METRICS`).
        time_budget: seconds of search; no trial starts after it and torch trials are cut at it. The final
            refit comes on top (about one trial's fit time).
        max_trials: the most trials to run (the search ends at whichever limit comes first).
        space: per-family overrides of the search space, e.g. ``{"tt_mlp": {"tt_rank": [2, 4], "epochs": 30}}``:
            a scalar fixes a parameter, a list makes it a choice.
        refit: retrain the best configuration on train + validation rows before the test evaluation (else the
            best trial's model is kept as it is).
        storage: where the Optuna study lives: ``None`` in memory (with ``workers > 1``: the project store's
            database when the store is on PostgreSQL, else a journal file in the project's ``.tesla/automl/``);
            ``'project'`` the project store's PostgreSQL database (schema ``optuna``), or with the SQLite store
            ``.tesla/optuna.db`` (kept for later analysis); any Optuna RDB URL (``postgresql://user@host/db``,
            opened with psycopg 3), or ``'journal:///abs/path.log'`` (Optuna's journal file on a file system every
            worker mounts). Workers on other machines join a study
            in a shared storage with ``tesla automl --join --storage URL --study NAME``.
        workers: processes on this machine that run trials at the same time (this one and ``workers - 1``
            started for the search); they share one study, so no trial runs twice.
        study: the Optuna study name (default ``'<name>-<run id>'``); other machines join it by this name.
        pruner: stop bad torch trials early on their per-epoch validation loss: ``'median'``, ``'halving'``
            (successive halving) or ``'none'``. A pruned trial is listed as ``pruned``.
        prune_startup: trials that must finish before the median pruner prunes anything.
        torch_threads: CPU threads torch uses during the search (restored after). AutoML's networks are small,
            so 1 is fastest (measured 20x faster than 2 threads on a busy 2-core machine) and leaves the other cores
            free; ``None`` keeps torch's setting.
    """

    dataset: str | None = None
    target: str | None = None
    features: list[str] | None = None
    task: str = "auto"
    families: list[str] | None = None
    metric: str | None = None
    time_budget: float = 60.0
    max_trials: int = 50
    space: dict[str, dict[str, Any]] = field(default_factory=dict)
    test_size: float | int = 0.2
    val_size: float | int = 0.2
    seed: int | None = None
    device: str | None = None
    preprocessing: list[Any] = field(default_factory=lambda: ["standardize"])
    max_categories: int = 20
    refit: bool = True
    storage: str | None = None
    torch_threads: int | None = 1
    workers: int = 1
    study: str | None = None
    pruner: str = "none"
    prune_startup: int = 5

    def __post_init__(self) -> None:
        shared = TrainConfig(**{k: getattr(self, k) for k in _SHARED})  # the same checks as `tesla train`
        for key in _SHARED:
            setattr(self, key, getattr(shared, key))
        if self.val_size == 0:
            raise ConfigError("val_size must be > 0: every trial is scored on the validation rows (the test rows are "
                              "kept for the final model); use e.g. val_size=0.2")
        self.families = _families(self.families)
        if self.metric is not None and (not isinstance(self.metric, str) or not self.metric.strip()):
            raise ConfigError(f"metric must be a name such as 'accuracy' or 'r2', or None; got {self.metric!r}")
        budget = self.time_budget
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) \
                or budget <= 0:
            raise ConfigError(f"time_budget must be a positive number of seconds; got {budget!r}")
        self.time_budget = float(budget)
        trials = self.max_trials
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise ConfigError(f"max_trials must be an integer >= 1; got {trials!r}")
        if not isinstance(self.space, Mapping) or not all(isinstance(v, Mapping) for v in self.space.values()):
            raise ConfigError(f"space must map a family to its overrides, e.g. {{'mlp': {{'epochs': 20}}}}; got "
                              f"{self.space!r}")
        self.space = {get_family(k).name: dict(v) for k, v in self.space.items()}
        threads = self.torch_threads
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise ConfigError(f"torch_threads must be an integer >= 1 or None (torch's setting); got {threads!r}")
        if not isinstance(self.refit, bool):
            raise ConfigError(f"refit must be true or false; got {self.refit!r}")
        if self.storage is not None and (not isinstance(self.storage, str) or (
                self.storage != PROJECT_STORAGE and "://" not in self.storage)):
            raise ConfigError(f"storage must be None (in memory), 'project' (the project store's database), an Optuna "
                              f"RDB URL such as 'postgresql://user@host/db' or 'journal:///abs/path.log'; got "
                              f"{self.storage!r}")
        if self.storage is not None and self.storage.startswith(JOURNAL_SCHEME):
            journal_path(self.storage)  # an absolute path, checked before anything runs
        workers = self.workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be an integer >= 1 (processes running trials on this machine); got "
                              f"{workers!r}")
        if self.study is not None and (not isinstance(self.study, str) or not self.study.strip()):
            raise ConfigError(f"study must be a non-empty name (e.g. 'wine-search') or None; got {self.study!r}")
        self.pruner = check_pruner(self.pruner)
        startup = self.prune_startup
        if isinstance(startup, bool) or not isinstance(startup, int) or startup < 0:
            raise ConfigError(f"prune_startup must be an integer >= 0 (finished trials before pruning starts); got "
                              f"{startup!r}")

    @classmethod
    def fields(cls) -> list[str]:
        """The option names, in order.

        >>> AutoMLConfig.fields()[:4]
        ['dataset', 'target', 'features', 'task']
        """
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AutoMLConfig:
        """Build from a dict (a stored config, YAML, CLI flags); unknown keys are refused.

        >>> AutoMLConfig.from_dict({"budget": 10})
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: unknown AutoML option 'budget' (did you mean 'time_budget'?); valid options: ...
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"an AutoML config must be a mapping of option → value; got {type(data).__name__}")
        names = cls.fields()
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"unknown AutoML option {key!r}{hint}; valid options: {', '.join(names)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/YAML-able dict of every option."""
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def replace(self, **changes: Any) -> AutoMLConfig:
        """A copy with ``changes`` applied (``None`` values are skipped, as for CLI flags left out).

        >>> AutoMLConfig(max_trials=5).replace(max_trials=None, time_budget=10).max_trials
        5
        """
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def train_config(self, **changes: Any) -> TrainConfig:
        """The :class:`~tesla_lab.workflow.TrainConfig` of the shared options with ``changes`` (one trial's family,
        hyper-parameters and training options), so ``train_model`` can reproduce any trial."""
        return TrainConfig(**{**{k: getattr(self, k) for k in _SHARED}, **changes})
