"""Search spaces: for each model family, the hyper-parameters AutoML tunes, their ranges and their defaults.

A :class:`FamilySpace` maps flat parameter names (``width``, ``depth``, ``lr``, ...) to distributions
(:class:`Int`, :class:`Float`, :class:`Choice`, :class:`Fixed`); :meth:`FamilySpace.sample` draws one set from an
Optuna trial and :meth:`FamilySpace.resolve` turns it into the model's hyper-parameters (for
:func:`~tesla_lab.models.make_model`) and, for torch families, the training-loop options (``epochs``, ``lr``,
``batch_size``). Optuna names each parameter ``'<family>.<name>'``, so families never share a distribution.

Overrides narrow a space: a scalar fixes a parameter, a list makes it a choice among those values.

>>> space = search_space("tt_mlp", n_train=100, overrides={"tt_rank": [2, 4], "epochs": 20})
>>> space.resolve(space.defaults())
({'hidden_sizes': [64, 64], 'tt_rank': 2, 'dropout': 0.0}, {'epochs': 20, 'lr': 0.01, 'batch_size': 32})
>>> search_space("cnn", n_train=100)
Traceback (most recent call last):
...
tesla_lab.errors.ConfigError: AutoML has no search space for family 'cnn'; choose from: linear, logistic, mlp, \
sklearn:gradient_boosting, sklearn:knn, sklearn:linear, sklearn:logistic, sklearn:random_forest, sklearn:ridge, \
sklearn:svm, tt_mlp
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tesla_lab.errors import ConfigError
from tesla_lab.models import get_family

__all__ = ["Int", "Float", "Choice", "Fixed", "FamilySpace", "search_space", "space_families", "default_families",
           "register_space", "FIT_OPTIONS"]

FIT_OPTIONS = ("epochs", "lr", "batch_size")  # training-loop options of the torch families (not model hparams)
_PRIMITIVE = (type(None), bool, int, float, str)  # what an Optuna categorical choice may be


@dataclass(frozen=True)
class Int:
    """Whole numbers in ``[low, high]`` (``log=True``: sampled on a log scale).

    >>> Int(1, 3, default=2).default
    2
    """

    low: int
    high: int
    default: int
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.default <= self.high:
            raise ConfigError(f"Int default {self.default} lies outside [{self.low}, {self.high}]")

    def suggest(self, trial: Any, name: str) -> int:
        """Draw a value from an Optuna ``trial`` under ``name``."""
        return int(trial.suggest_int(name, self.low, self.high, log=self.log))


@dataclass(frozen=True)
class Float:
    """Real numbers in ``[low, high]`` (``log=True``: sampled on a log scale, for rates and penalties).

    >>> Float(1e-3, 1e-1, default=1e-2, log=True).log
    True
    """

    low: float
    high: float
    default: float
    log: bool = False

    def __post_init__(self) -> None:
        if not self.low <= self.default <= self.high:
            raise ConfigError(f"Float default {self.default} lies outside [{self.low}, {self.high}]")

    def suggest(self, trial: Any, name: str) -> float:
        """Draw a value from an Optuna ``trial`` under ``name``."""
        return float(trial.suggest_float(name, self.low, self.high, log=self.log))


@dataclass(frozen=True, init=False)
class Choice:
    """One of ``choices`` (None, bool, int, float or str); the default is the first unless given.

    >>> Choice(["relu", "gelu"]).default
    'relu'
    >>> Choice([[64, 32]])
    Traceback (most recent call last):
    ...
    tesla_lab.errors.ConfigError: a choice must be None, a bool, a number or a string; got [64, 32] (tune the \
parts instead, e.g. width and depth)
    """

    choices: tuple[Any, ...]
    default: Any = field(default=None)

    def __init__(self, choices: Any, default: Any = ...) -> None:
        values = tuple(choices)
        if not values:
            raise ConfigError("a choice needs at least one value; got an empty list")
        for value in values:
            if not isinstance(value, _PRIMITIVE):
                raise ConfigError(f"a choice must be None, a bool, a number or a string; got {value!r} (tune the "
                                  "parts instead, e.g. width and depth)")
        first = values[0] if default is ... else default
        if first not in values:
            raise ConfigError(f"Choice default {first!r} is not one of {list(values)!r}")
        object.__setattr__(self, "choices", values)
        object.__setattr__(self, "default", first)

    def suggest(self, trial: Any, name: str) -> Any:
        """Draw a value from an Optuna ``trial`` under ``name``."""
        return trial.suggest_categorical(name, list(self.choices))


@dataclass(frozen=True)
class Fixed:
    """A value that is not tuned (an override such as ``epochs=20``).

    >>> Fixed(20).suggest(None, "epochs")
    20
    """

    value: Any

    @property
    def default(self) -> Any:
        """The value itself."""
        return self.value

    def suggest(self, trial: Any, name: str) -> Any:
        """The value (nothing is drawn)."""
        return self.value


Dist = Int | Float | Choice | Fixed
Resolver = Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]


def _split_fit(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Values → (model hparams, training-loop options)."""
    fit = {k: values[k] for k in FIT_OPTIONS if k in values}
    return {k: v for k, v in values.items() if k not in FIT_OPTIONS}, fit


def _widths(values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``width`` and ``depth`` → ``hidden_sizes`` (equal widths: TT layers need sizes that factorize alike)."""
    hparams, fit = _split_fit(values)
    width, depth = hparams.pop("width"), hparams.pop("depth")
    return {"hidden_sizes": [int(width)] * int(depth), **hparams}, fit


@dataclass(frozen=True)
class FamilySpace:
    """The tunable parameters of one family and how they become ``make_model`` hparams and ``fit`` options."""

    family: str
    params: dict[str, Dist]
    resolver: Resolver = _split_fit

    def defaults(self) -> dict[str, Any]:
        """The default value of every parameter (the first trial of a family uses them).

        >>> search_space("sklearn:ridge", 50).defaults()
        {'alpha': 1.0}
        """
        return {name: dist.default for name, dist in self.params.items()}

    def optuna_name(self, name: str) -> str:
        """The name Optuna records a parameter under: ``'<family>.<name>'``.

        >>> search_space("mlp", 50).optuna_name("width")
        'mlp.width'
        """
        return f"{self.family}.{name}"

    def enqueue_params(self) -> dict[str, Any]:
        """The defaults as Optuna parameters, for ``study.enqueue_trial`` (fixed ones are not Optuna's)."""
        return {self.optuna_name(n): d.default for n, d in self.params.items() if not isinstance(d, Fixed)}

    def sample(self, trial: Any) -> dict[str, Any]:
        """Draw every parameter from an Optuna ``trial``."""
        return {name: dist.suggest(trial, self.optuna_name(name)) for name, dist in self.params.items()}

    def resolve(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Sampled ``values`` → ``(hparams, fit_options)``."""
        return self.resolver(dict(values))

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> FamilySpace:
        """A copy where each override fixes a parameter (a scalar) or restricts it to a list of choices.

        >>> search_space("sklearn:ridge", 50).with_overrides({"alpha": [0.1, 1.0]}).params["alpha"]
        Choice(choices=(0.1, 1.0), default=0.1)
        >>> search_space("sklearn:ridge", 50).with_overrides({"alfa": 1})
        Traceback (most recent call last):
        ...
        tesla_lab.errors.ConfigError: family 'sklearn:ridge' has no tunable parameter 'alfa'; it tunes: alpha
        """
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"the overrides of {self.family!r} must be a dict of parameter → value or list of "
                              f"values; got {overrides!r}")
        params = dict(self.params)
        for name, value in overrides.items():
            if name not in params:
                raise ConfigError(f"family {self.family!r} has no tunable parameter {name!r}; it tunes: "
                                  f"{', '.join(self.params) or '(nothing)'}")
            params[name] = Choice(value) if isinstance(value, (list, tuple)) else Fixed(value)
        return FamilySpace(self.family, params, self.resolver)


# ------------------------------------------------------------------------------------------------ the spaces
def _torch_fit(n_train: int) -> dict[str, Dist]:
    # batch sizes grow with the data so an epoch stays a few hundred steps at most
    sizes = (16, 32, 64) if n_train < 2_000 else (64, 128, 256)
    return {"epochs": Int(10, 100, default=50), "lr": Float(1e-3, 3e-2, default=1e-2, log=True),
            "batch_size": Choice(sizes, default=sizes[1])}


def _mlp(n_train: int) -> FamilySpace:
    return FamilySpace("mlp", {"width": Choice((16, 32, 64, 128), default=64), "depth": Int(1, 3, default=2),
                               "dropout": Float(0.0, 0.3, default=0.0),
                               "activation": Choice(("relu", "gelu", "tanh")), **_torch_fit(n_train)}, _widths)


def _tt_mlp(n_train: int) -> FamilySpace:
    # depth >= 2: a TT-MLP's hidden-to-hidden layers are the tensor trains
    return FamilySpace("tt_mlp", {"width": Choice((16, 32, 64, 128), default=64), "depth": Int(2, 3, default=2),
                                  "tt_rank": Choice((2, 4, 8), default=4), "dropout": Float(0.0, 0.3, default=0.0),
                                  **_torch_fit(n_train)}, _widths)


_SPACES: dict[str, Callable[[int], FamilySpace]] = {
    "linear": lambda n: FamilySpace("linear", _torch_fit(n)),
    "logistic": lambda n: FamilySpace("logistic", _torch_fit(n)),
    "mlp": _mlp,
    "tt_mlp": _tt_mlp,
    "sklearn:logistic": lambda n: FamilySpace("sklearn:logistic", {"C": Float(1e-3, 1e2, default=1.0, log=True)}),
    "sklearn:ridge": lambda n: FamilySpace("sklearn:ridge", {"alpha": Float(1e-3, 1e2, default=1.0, log=True)}),
    "sklearn:linear": lambda n: FamilySpace("sklearn:linear", {}),
    "sklearn:random_forest": lambda n: FamilySpace("sklearn:random_forest", {
        "n_estimators": Int(50, 300, default=100, log=True), "max_depth": Choice((None, 4, 8, 16)),
        "min_samples_leaf": Int(1, 10, default=1), "max_features": Choice(("sqrt", "log2", 1.0))}),
    "sklearn:gradient_boosting": lambda n: FamilySpace("sklearn:gradient_boosting", {
        "learning_rate": Float(0.01, 0.3, default=0.1, log=True), "max_iter": Int(50, 300, default=100, log=True),
        "max_leaf_nodes": Int(8, 64, default=31, log=True), "l2_regularization": Float(0.0, 1.0, default=0.0)}),
    "sklearn:knn": lambda n: FamilySpace("sklearn:knn", {
        "n_neighbors": Int(1, max(1, min(50, n - 1)), default=min(5, max(1, n - 1))),
        "weights": Choice(("uniform", "distance"))}),
    "sklearn:svm": lambda n: FamilySpace("sklearn:svm", {"C": Float(1e-2, 1e2, default=1.0, log=True),
                                                         "gamma": Choice(("scale", "auto"))}),
}
_DEFAULT_FAMILIES = {"classification": ["logistic", "mlp", "tt_mlp", "sklearn:random_forest", "sklearn:logistic"],
                     "regression": ["linear", "mlp", "tt_mlp", "sklearn:random_forest", "sklearn:ridge"]}


def register_space(family: str, factory: Callable[[int], FamilySpace]) -> None:
    """Let AutoML search ``family`` (a registered model family) with ``factory(n_train) → FamilySpace``;
    replaces the built-in space of that family.

    >>> register_space("sklearn:linear", lambda n: FamilySpace("sklearn:linear", {"fit_intercept": Choice([True])}))
    >>> search_space("sklearn:linear", 10).defaults()
    {'fit_intercept': True}
    >>> register_space("sklearn:linear", lambda n: FamilySpace("sklearn:linear", {}))  # back to the built-in one
    """
    if not callable(factory):
        raise ConfigError(f"a search space factory must be callable(n_train) -> FamilySpace; got {factory!r}")
    _SPACES[get_family(family).name] = factory


def space_families() -> list[str]:
    """The families AutoML can search.

    >>> "tt_mlp" in space_families(), "cnn" in space_families()
    (True, False)
    """
    return sorted(_SPACES)


def default_families(task: str) -> list[str]:
    """What AutoML searches when no families are given: a linear model, an MLP, a TT-MLP, a random forest and
    scikit-learn's linear model for the task.

    >>> default_families("regression")
    ['linear', 'mlp', 'tt_mlp', 'sklearn:random_forest', 'sklearn:ridge']
    """
    if task not in _DEFAULT_FAMILIES:
        raise ConfigError(f"task must be one of: {', '.join(_DEFAULT_FAMILIES)}; got {task!r}")
    return list(_DEFAULT_FAMILIES[task])


def search_space(family: str, n_train: int, overrides: Mapping[str, Any] | None = None) -> FamilySpace:
    """The space of ``family`` for ``n_train`` training rows, with ``overrides`` applied."""
    name = get_family(family).name  # unknown names: the models registry's error, listing the families
    if name not in _SPACES:
        raise ConfigError(f"AutoML has no search space for family {family!r}; choose from: "
                          f"{', '.join(space_families())}")
    if isinstance(n_train, bool) or not isinstance(n_train, int) or n_train < 1:
        raise ConfigError(f"n_train must be a positive integer; got {n_train!r}")
    return _SPACES[name](n_train).with_overrides(overrides)
