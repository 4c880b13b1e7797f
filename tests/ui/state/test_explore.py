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
    # the most informative columns first: the highest variance, never one of the three all-zero pixels
    assert state.column == "pixel_5_2" and "target" not in state.param.column.objects
    assert state.columns == ["pixel_5_2", "pixel_5_3", "pixel_4_2", state.columns[3]]
    assert state.param.column.objects[0] == "pixel_0_0"  # the choices keep the table's order


def test_colour_by_target_is_offered_only_where_it_changes_the_plot():
    digits, info = data.load_sample("digits")
    state = ExploreState(frame=digits, target="target", image_shape=info.image_shape)
    offered = {}
    for kind in state.kinds():
        state.kind = kind
        offered[kind] = state.uses_color()
        colours = {state.color_by_target: None}
        for on in (True, False):
            state.color_by_target = on
            colours[on] = state.figure().to_json()
        assert (colours[True] != colours[False]) == offered[kind], kind  # offered exactly where it has an effect
    assert offered == {"histogram": True, "scatter matrix": True, "correlation": False, "class balance": False,
                       "images": False}


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
    assert state.kind == "histogram" and state.column == "petal length (cm)"


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
