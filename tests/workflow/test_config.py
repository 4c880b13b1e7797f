"""TrainConfig: one validated config; every bad value names itself."""

import pytest

from tesla_lab.errors import ConfigError
from tesla_lab.workflow import TrainConfig


def test_round_trips_through_dict_and_yaml(tmp_path):
    cfg = TrainConfig(dataset="train@2", target="y", features=["a", "b"], framework="tt", family="tt_mlp",
                      model={"hidden_sizes": (32, 32), "tt_rank": 4}, lr=0.01, epochs=3, val_size=0.1,
                      preprocessing=[{"type": "minmax", "feature_range": [-1, 1]}])
    data = cfg.to_dict()
    assert data["model"]["hidden_sizes"] == [32, 32]  # tuples become lists: JSON / YAML-able
    assert TrainConfig.from_dict(data).to_dict() == data
    path = tmp_path / "model.yaml"
    path.write_text(cfg.to_yaml())
    assert TrainConfig.from_yaml(path).to_dict() == data


def test_yaml_numbers_written_as_text_are_accepted(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("lr: 1e-3\nepochs: 4\nframework: sklearn\nfamily: sklearn:ridge\nmodel: {alpha: 0.5}\n")
    cfg = TrainConfig.from_yaml(path)
    assert cfg.lr == 0.001 and cfg.framework == "scikit-learn" and cfg.model == {"alpha": 0.5}


def test_replace_keeps_values_for_flags_left_out():
    cfg = TrainConfig(epochs=5, lr=0.1).replace(epochs=None, lr=0.2, seed=3)
    assert (cfg.epochs, cfg.lr, cfg.seed) == (5, 0.2, 3)
    assert TrainConfig(features="a, b").features == ["a", "b"]


@pytest.mark.parametrize(("options", "message"), [
    ({"epochs": 0}, "epochs must be an integer >= 1; got 0"),
    ({"batch_size": 2.5}, "batch_size must be an integer >= 1; got 2.5"),
    ({"lr": -1}, "lr must be a positive number or None; got -1"),
    ({"lr": "fast"}, "lr must be a positive number or None; got 'fast'"),
    ({"grad_clip": 0}, "grad_clip must be a positive number or None; got 0"),
    ({"test_size": 0.0}, r"test_size must be a fraction in \(0, 1\) or a number of rows; got 0.0"),
    ({"test_size": True}, "test_size must be a fraction"),
    ({"val_size": -0.1}, r"val_size must be a fraction in \[0, 1\)"),
    ({"test_size": 0.6, "val_size": 0.4}, "test_size \\+ val_size must leave rows to train on"),
    ({"task": "ranking"}, "task must be one of: auto, classification, regression; got 'ranking'"),
    ({"framework": "jax"}, "unknown framework 'jax'"),
    ({"family": "resnet"}, "unknown model family 'resnet'"),
    ({"framework": "scikit-learn", "family": "mlp"}, "family 'mlp' is a torch model but framework 'scikit-learn'"),
    ({"family": "mlp", "model": {"tt_rank": 4}}, "family 'mlp' has no hyper-parameter\\(s\\) 'tt_rank'"),
    ({"model": [1]}, "model must be a dict of hyper-parameters"),
    ({"optimizer": "adamm"}, "unknown optimizer 'adamm' \\(did you mean 'adam'\\?\\)"),
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
    ({"device": "tpu"}, "device must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'; got 'tpu'"),
    ({"precision": "fp8"}, "unknown precision 'fp8'"),
    ({"seed": "1"}, "seed must be an integer or None; got '1'"),
    ({"features": []}, "features must be a non-empty list of column names"),
    ({"features": ["a", "a"]}, "features lists a column twice"),
    ({"dataset": " "}, "dataset must be a non-empty string or None"),
    ({"preprocessing": ["whiten"]}, "unknown preprocessing step 'whiten'; choose from: standardize"),
    ({"max_categories": 0}, "max_categories must be an integer >= 1; got 0"),
    ({"scale_target": "yes"}, "scale_target must be true or false; got 'yes'"),
    ({"checkpoint_every": 0}, "checkpoint_every must be an integer >= 1 or None; got 0"),
])
def test_bad_values_are_named(options, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**options)


def test_unknown_options_and_bad_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="unknown training option 'learning_rate'; valid options: dataset"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ConfigError, match="a training config must be a mapping"):
        TrainConfig.from_dict([("epochs", 1)])
    with pytest.raises(ConfigError, match="config file '.*nope.yaml' not found"):
        TrainConfig.from_yaml(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [1,\n")
    with pytest.raises(ConfigError, match="config file '.*bad.yaml' is not valid YAML"):
        TrainConfig.from_yaml(bad)
    bad.write_text("- epochs\n")
    with pytest.raises(ConfigError, match="must hold a mapping of options"):
        TrainConfig.from_yaml(bad)
    bad.write_text("")
    assert TrainConfig.from_yaml(bad) == TrainConfig()
