"""Search spaces: every point builds a model, overrides fix or restrict parameters, bad spaces are refused."""

import pytest

from tesla_lab.automl import (
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
from tesla_lab.errors import ConfigError
from tesla_lab.models import get_family, make_model

optuna = pytest.importorskip("optuna")


def _random_trials(n, seed=0):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    return [study.ask() for _ in range(n)]


@pytest.mark.parametrize("family", space_families())
def test_every_sampled_point_builds_a_model_of_the_family(family):
    fam = get_family(family)
    for trial in _random_trials(4):
        space = search_space(family, n_train=120)
        hparams, fit = space.resolve(space.sample(trial))
        assert set(fit) <= set(FIT_OPTIONS) and (fam.framework == "torch") == bool(fit)
        for task in fam.tasks:
            model = make_model(family, n_features=12, n_outputs=3 if task == "classification" else 1, task=task,
                               **hparams)
            assert model.family == family


@pytest.mark.parametrize("family", space_families())
def test_sampled_values_stay_in_their_ranges(family):
    space = search_space(family, n_train=120)
    for trial in _random_trials(6, seed=1):
        values = space.sample(trial)
        for name, dist in space.params.items():
            if isinstance(dist, (Int, Float)):
                assert dist.low <= values[name] <= dist.high
            else:
                assert values[name] in dist.choices
        assert set(trial.params) == {space.optuna_name(n) for n in space.params}


def test_defaults_are_what_the_first_trial_of_a_family_uses():
    space = search_space("mlp", n_train=500)
    assert space.resolve(space.defaults()) == (
        {"hidden_sizes": [64, 64], "dropout": 0.0, "activation": "relu"}, {"epochs": 50, "lr": 0.01, "batch_size": 32})
    assert space.enqueue_params()["mlp.width"] == 64


def test_batch_sizes_grow_with_the_data():
    assert search_space("logistic", 100).params["batch_size"].choices == (16, 32, 64)
    assert search_space("logistic", 50_000).params["batch_size"].choices == (64, 128, 256)


def test_knn_neighbours_stay_below_the_training_rows():
    dist = search_space("sklearn:knn", n_train=4).params["n_neighbors"]
    assert dist.high == 3 and dist.default == 3


def test_overrides_fix_a_parameter_or_restrict_it_to_choices():
    space = search_space("tt_mlp", 100, overrides={"epochs": 7, "tt_rank": [2, 8]})
    assert space.params["epochs"] == Fixed(7) and "tt_mlp.epochs" not in space.enqueue_params()
    assert space.params["tt_rank"] == Choice([2, 8])
    trial = _random_trials(1)[0]
    hparams, fit = space.resolve(space.sample(trial))
    assert fit["epochs"] == 7 and hparams["tt_rank"] in (2, 8) and "tt_mlp.epochs" not in trial.params


@pytest.mark.parametrize(("build", "message"), [
    (lambda: search_space("mlp", 10, overrides={"hidden": 3}), "family 'mlp' has no tunable parameter 'hidden'; it "
                                                               "tunes: width, depth"),
    (lambda: search_space("mlp", 10, overrides={"width": [[8, 8]]}), "a choice must be None, a bool, a number or a "
                                                                     "string; got \\[8, 8\\]"),
    (lambda: search_space("mlp", 10, overrides={"width": []}), "a choice needs at least one value"),
    (lambda: search_space("mlp", 10, overrides=[("width", 8)]), "the overrides of 'mlp' must be a dict"),
    (lambda: search_space("cnn", 10), "AutoML has no search space for family 'cnn'; choose from: linear"),
    (lambda: search_space("mlpp", 10), "unknown model family 'mlpp' \\(did you mean 'mlp'\\?\\)"),
    (lambda: search_space("mlp", 0), "n_train must be a positive integer; got 0"),
    (lambda: Int(1, 3, default=5), "Int default 5 lies outside \\[1, 3\\]"),
    (lambda: Float(0.1, 1.0, default=0.0), "Float default 0.0 lies outside \\[0.1, 1.0\\]"),
    (lambda: Choice(["a", "b"], default="c"), "Choice default 'c' is not one of \\['a', 'b'\\]"),
    (lambda: register_space("mlp", "not callable"), "a search space factory must be callable"),
    (lambda: default_families("ranking"), "task must be one of: classification, regression; got 'ranking'"),
])
def test_bad_spaces_are_refused_with_the_rule(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_registered_space_replaces_the_built_in_one():
    original = search_space("sklearn:ridge", 10)
    register_space("sklearn:ridge", lambda n: FamilySpace("sklearn:ridge", {"alpha": Choice([0.5])}))
    try:
        assert search_space("sklearn:ridge", 10).defaults() == {"alpha": 0.5}
    finally:
        register_space("sklearn:ridge", lambda n: original)
    assert search_space("sklearn:ridge", 10).params["alpha"] == Float(1e-3, 1e2, default=1.0, log=True)
