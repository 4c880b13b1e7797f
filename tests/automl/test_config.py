"""AutoMLConfig: validated plain data, shared checks with TrainConfig, round trips."""

import sys

import pytest

from tesla_lab.automl import AutoMLConfig, import_optuna
from tesla_lab.errors import ConfigError


def test_round_trips_through_a_dict_and_canonicalises_names():
    cfg = AutoMLConfig(dataset="wine", families="MLP, tt-mlp,mlp", space={"TT_MLP": {"tt_rank": [2, 4]}},
                       storage="project", time_budget=5)
    assert cfg.families == ["mlp", "tt_mlp"] and cfg.space == {"tt_mlp": {"tt_rank": [2, 4]}}
    assert cfg.time_budget == 5.0 and isinstance(cfg.time_budget, float)
    assert AutoMLConfig.from_dict(cfg.to_dict()) == cfg


def test_a_trial_becomes_a_train_config():
    cfg = AutoMLConfig(dataset="iris", target="target", seed=3, val_size=0.25)
    train = cfg.train_config(framework="tt", family="tt_mlp", model={"tt_rank": 2}, epochs=7)
    assert (train.family, train.model, train.epochs, train.seed, train.val_size) == ("tt_mlp", {"tt_rank": 2}, 7, 3,
                                                                                     0.25)


@pytest.mark.parametrize(("options", "message"), [
    ({"time_budget": 0}, "time_budget must be a positive number of seconds; got 0"),
    ({"time_budget": float("inf")}, "time_budget must be a positive number of seconds; got inf"),
    ({"time_budget": True}, "time_budget must be a positive number of seconds; got True"),
    ({"max_trials": 0}, "max_trials must be an integer >= 1; got 0"),
    ({"max_trials": 2.5}, "max_trials must be an integer >= 1; got 2.5"),
    ({"val_size": 0}, "val_size must be > 0: every trial is scored on the validation rows"),
    ({"test_size": 1.5}, "test_size must be a fraction in \\(0, 1\\) or a number of rows; got 1.5"),  # TrainConfig's
    ({"task": "ranking"}, "task must be one of: auto, classification, regression; got 'ranking'"),
    ({"families": []}, "families must be a non-empty list of model family names"),
    ({"families": ["tt-mlpp"]}, "unknown model family 'tt-mlpp' \\(did you mean 'tt_mlp'\\?\\)"),
    ({"families": ["cnn"]}, "AutoML has no search space for family 'cnn'"),
    ({"metric": ""}, "metric must be a name such as 'accuracy' or 'r2', or None; got ''"),
    ({"space": {"mlp": 3}}, "space must map a family to its overrides"),
    ({"refit": "yes"}, "refit must be true or false; got 'yes'"),
    ({"storage": "optuna.db"}, "storage must be None \\(in memory\\), 'project' .* got 'optuna.db'"),
    ({"torch_threads": 0}, "torch_threads must be an integer >= 1 or None"),
])
def test_bad_options_are_refused_with_the_rule(options, message):
    with pytest.raises(ConfigError, match=message):
        AutoMLConfig(**options)


def test_unknown_keys_and_non_mappings_are_refused():
    with pytest.raises(ConfigError, match="unknown AutoML option 'max_trial' \\(did you mean 'max_trials'\\?\\)"):
        AutoMLConfig.from_dict({"max_trial": 3})
    with pytest.raises(ConfigError, match="an AutoML config must be a mapping of option → value; got list"):
        AutoMLConfig.from_dict([("max_trials", 3)])


def test_missing_optuna_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` now raises ImportError
    with pytest.raises(ConfigError, match=r"AutoML needs Optuna.*pip install 'tesla-lab\[automl\]'"):
        import_optuna()
