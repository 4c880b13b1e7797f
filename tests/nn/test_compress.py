import pytest
import torch
from torch import nn

from tesla_lab.errors import ConfigError
from tesla_lab.nn.compress import CompressionReport, LayerCompression, compress
from tesla_lab.nn.tt_linear import TTLinear


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def test_compressing_an_mlp_reduces_parameters_and_keeps_small_layers_dense():
    model = mlp()
    small, report = compress(model, rank=4)
    assert isinstance(small[0], TTLinear) and isinstance(small[2], TTLinear)
    assert type(small[4]) is nn.Linear  # 10 outputs < min_features
    assert report.params_after < report.params_before
    assert report.params_before == sum(p.numel() for p in model.parameters())
    assert report.params_after == sum(p.numel() for p in small.parameters())
    assert [row.replaced for row in report.layers] == [True, True, False]
    assert report.layers[2].reason == "smaller than min_features=64"
    assert len(report.replaced) == 2 and report.compression_ratio > 1


def test_outputs_stay_close_at_high_rank():
    model = mlp()
    small, report = compress(model, tol=1e-4)
    x = torch.randn(16, 64)
    assert torch.allclose(small(x), model(x), atol=1e-3)
    assert all(row.relative_error <= 1e-4 for row in report.replaced)


def test_without_inplace_the_original_model_is_unchanged():
    model = mlp()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    compress(model, rank=4, finetune=dict(X=torch.randn(32, 64), y=torch.randint(0, 10, (32,)), epochs=1))
    assert all(type(m) is not TTLinear for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_inplace_modifies_the_given_model():
    model = mlp()
    same, _ = compress(model, rank=4, inplace=True)
    assert same is model and isinstance(model[0], TTLinear)


def test_skip_keeps_named_layers_and_their_children_dense():
    model = nn.Sequential(nn.Linear(64, 64), nn.Sequential(nn.Linear(64, 64), nn.Linear(64, 64)))
    small, report = compress(model, rank=2, skip=["0", "1.1"])
    assert type(small[0]) is nn.Linear and isinstance(small[1][0], TTLinear) and type(small[1][1]) is nn.Linear
    assert {row.name: row.reason for row in report.layers}["1.1"] == "in skip"
    small, _ = compress(model, rank=2, skip="1")  # a parent name covers its children; a str is one name
    assert isinstance(small[0], TTLinear) and type(small[1][0]) is nn.Linear


def test_unfactorizable_and_subclassed_linears_are_left_alone():
    model = nn.Sequential(nn.Linear(64, 67), nn.Linear(67, 64))
    attn = nn.MultiheadAttention(64, 4)
    small, report = compress(model, rank=2)
    assert all(type(m) is nn.Linear for m in small)
    assert all("cannot be factorized" in row.reason for row in report.layers)
    _, attn_report = compress(attn, rank=2)
    assert attn_report.layers == []  # out_proj is a Linear subclass whose weight the parent reads directly


def test_layers_that_would_grow_are_kept():
    small, report = compress(nn.Sequential(nn.Linear(64, 64)), rank=64)
    assert type(small[0]) is nn.Linear
    assert report.layers[0].reason == "TT form not smaller at this rank/tol"


def test_a_bare_linear_model_is_replaced():
    small, report = compress(nn.Linear(64, 64), rank=2)
    assert isinstance(small, TTLinear) and report.layers[0].name == ""


def test_finetuning_runs_a_few_epochs_and_lowers_the_loss():
    torch.manual_seed(0)
    X = torch.randn(128, 64)
    y = (X[:, :10].argmax(1)).long()
    small, report = compress(mlp(), rank=2, finetune=dict(X=X, y=y, epochs=5, lr=1e-2, batch_size=32))
    assert len(report.finetune_losses) == 5
    assert report.finetune_losses[-1] < report.finetune_losses[0]
    assert "fine-tuning loss per epoch" in str(report)
    assert small.training  # mode restored


def test_finetuning_supports_regression_losses():
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    X, y = torch.randn(40, 64), torch.randn(40, 1)
    _, report = compress(model, rank=2, finetune=dict(X=X.numpy(), y=y.numpy(), loss="mse", optimizer="sgd", epochs=1))
    assert len(report.finetune_losses) == 1


def test_report_prints_a_table_with_totals():
    _, report = compress(mlp(), rank=4)
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "shape", "ranks", "params", "ratio", "weight", "error", "note"]
    assert lines[1].startswith("0 ") and "128x64" in lines[1]
    assert lines[-1].startswith("total") and f"{report.params_before:,} -> {report.params_after:,}" in lines[-1]


def test_report_row_ratio():
    row = LayerCompression("fc", 64, 64, 4160, 416, True)
    assert row.compression_ratio == 10.0
    assert CompressionReport([row], 4160, 416).compression_ratio == 10.0


def test_neither_rank_nor_tol_is_a_config_error():
    with pytest.raises(ConfigError, match=r"compress needs rank= \(e\.g\. rank=8\) or tol="):
        compress(mlp())


def test_bad_min_features_is_a_config_error():
    with pytest.raises(ConfigError, match="min_features must be an integer >= 1; got 0"):
        compress(mlp(), rank=4, min_features=0)


@pytest.mark.parametrize(
    ("finetune", "match"),
    [
        ([1, 2], "finetune must be a dict like dict"),
        (dict(X=1, y=2, epoch=3), r"unknown finetune option\(s\) \['epoch'\]; choose from: X, y, epochs"),
        (dict(X=torch.zeros(2, 64)), "finetune needs training data"),
        (dict(X=torch.zeros(2, 64), y=torch.zeros(2), epochs=-1), "finetune epochs must be an integer >= 0"),
        (dict(X=torch.zeros(2, 64), y=torch.zeros(2), batch_size=0), "finetune batch_size must be an integer >= 1"),
    ],
)
def test_bad_finetune_options_are_config_errors(finetune, match):
    with pytest.raises(ConfigError, match=match):
        compress(mlp(), rank=4, finetune=finetune)
