"""The wine case: 13 (prime) features cannot feed a TT layer; the Model view offers one click that zero-pads the
inputs to 15 = 3 x 5, and the padding really acts in the trained model. The summary shows TT layers as TT with
their ranks and compression as '2.1x'."""

import torch

from tesla_lab.nn import ZeroPad
from tesla_lab.store import Project
from tesla_lab.ui.pages.model import ModelPage
from tesla_lab.ui.state import ModelState
from tesla_lab.workflow import train_model


def test_a_prime_feature_count_offers_padding_and_the_padded_model_trains(tmp_path):
    state = ModelState(n_inputs=13, n_outputs=3, layers=[{"kind": "TT", "units": 32, "activation": "relu",
                                                          "tt_rank": 4, "in_shape": "", "out_shape": ""}])
    page = ModelPage(state)
    assert not state.can_launch and "in_features=13 is prime" in state.error
    assert page.pad.visible and page.pad.label == "Pad inputs to 15 (zero features)"
    page.pad.clicks += 1  # the one click
    assert state.can_launch and not page.pad.visible
    table = state.summary_table()
    assert table["type"].tolist() == ["ZeroPad", "TT", "Dense"]
    assert table["TT ranks"].tolist() == ["", "1-4-1", ""]
    assert table["compression"].tolist()[1] == "2.1x"  # 15 x 32 dense = 512 weights vs 240 in the TT cores
    result = train_model(Project.init(tmp_path), state.train_config(dataset="wine", target="target").__dict__
                         | {"epochs": 2, "device": "cpu"}, name="wine-tt")
    assert result.status == "finished"
    net = result.bundle.estimator.module
    pads = [m for m in net.modules() if isinstance(m, ZeroPad)]
    assert len(pads) == 1 and pads[0].features == 15
    assert pads[0](torch.ones(2, 13))[:, 13:].abs().sum() == 0
    assert result.metrics["accuracy"] > 0.34  # it learned something through the padded TT layer


def test_no_padding_is_offered_when_the_count_splits():
    state = ModelState(n_inputs=64, n_outputs=10)
    assert state.padding_offer() is None
    state.pad_inputs()
    assert state.message == "the inputs need no padding" and state.layers[0]["kind"] == "TT"
