"""ExploreState: the plots offered follow the data; every plot kind draws or explains why not."""

import pandas as pd

from tesla_lab import data
from tesla_lab.ui.state import ExploreState


def test_kinds_follow_the_data():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]})
    assert ExploreState(frame=frame).kinds() == ["histogram", "scatter matrix", "correlation"]
    digits, info = data.load_sample("digits")
    state = ExploreState(frame=digits, target="target", image_shape=info.image_shape)
    assert state.kinds()[-2:] == ["class balance", "images"]
    assert state.column == "pixel_0_0" and "target" not in state.param.column.objects
    assert len(state.columns) == 4


def test_every_kind_draws_a_figure_for_digits():
    digits, info = data.load_sample("digits")
    state = ExploreState(frame=digits, target="target", image_shape=info.image_shape)
    for kind in state.kinds():
        state.kind = kind
        assert state.figure() is not None and state.error == "", kind


def test_a_new_table_without_images_falls_back_to_the_histogram():
    digits, info = data.load_sample("digits")
    state = ExploreState(frame=digits, target="target", image_shape=info.image_shape, kind="images")
    state.param.update(image_shape=None, frame=data.load_sample("iris")[0])
    assert state.kind == "histogram" and state.column == "sepal length (cm)"


def test_problems_become_the_error_message():
    state = ExploreState()
    assert state.figure() is None and "no data to plot yet" in state.error
    state.frame = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0]})
    state.columns = ["a"] * 9
    state.kind = "scatter matrix"
    assert state.figure() is None and "unreadable" in state.error
    state.param.kind.objects = [*state.param.kind.objects]
    state.kind = "images"
    assert state.figure() is None and "this table has no image shape" in state.error
