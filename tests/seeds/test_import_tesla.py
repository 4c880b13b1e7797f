"""The documents' ``import tesla``: the same objects as ``tesla_lab``, submodules included."""

import importlib
import pickle

import pytest

import tesla_lab


def test_tesla_is_tesla_lab_same_objects():
    import tesla

    assert tesla.nn is tesla_lab.nn
    assert tesla.train is tesla_lab.train
    assert tesla.TensorNetwork is tesla_lab.TensorNetwork
    assert tesla.__version__ == tesla_lab.__version__


@pytest.mark.parametrize("name", ["data", "nn", "optim", "loss", "utils", "train", "store", "tn", "data.ingest"])
def test_submodules_alias_the_canonical_module(name):
    alias = importlib.import_module(f"tesla.{name}")
    assert alias is importlib.import_module(f"tesla_lab.{name}")
    # the canonical identity survives the alias import: pickling and reload see tesla_lab
    assert alias.__spec__.name == f"tesla_lab.{name}"


def test_from_import_gives_the_same_class():
    from tesla.nn import TTLinear

    assert TTLinear is tesla_lab.nn.TTLinear
    layer = TTLinear(16, 16, rank=2)
    assert type(pickle.loads(pickle.dumps(layer))) is tesla_lab.nn.TTLinear


def test_unknown_submodule_fails_like_a_missing_module():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("tesla.no_such_module")
