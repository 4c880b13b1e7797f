import pytest
import torch

import tesla_lab as tesla
from tesla_lab.errors import ConfigError


def test_get_optimizer_by_name_with_default_lr():
    p = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(tesla.optim.get_optimizer("sgd", p), torch.optim.SGD)
    assert tesla.optim.get_optimizer("Adam", p, lr=0.1).defaults["lr"] == 0.1


def test_get_optimizer_rejects_bad_lr_and_names():
    p = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ConfigError, match=r"learning rate must be > 0; got lr=0"):
        tesla.optim.get_optimizer("adam", p, lr=0)
    with pytest.raises(ConfigError, match="unknown optimizer 'lbfgsx'"):
        tesla.optim.get_optimizer("lbfgsx", p)


def test_get_loss_aliases_and_errors():
    assert isinstance(tesla.loss.get_loss("sparse_categorical_crossentropy"), torch.nn.CrossEntropyLoss)
    assert isinstance(tesla.loss.get_loss("MSE"), torch.nn.MSELoss)
    with pytest.raises(ConfigError, match="unknown loss 'msee' \\(did you mean 'mse'\\?\\)"):
        tesla.loss.get_loss("msee")
    with pytest.raises(ConfigError, match="loss must be given by name"):
        tesla.loss.get_loss(3)
