"""Explorer widget: the plot follows the controls; what cannot be drawn shows why."""

from tesla_lab import data
from tesla_lab.ui.widgets import Explorer


def test_each_kind_draws_into_the_output():
    frame, info = data.load_sample("digits")
    explorer = Explorer(frame, target="target", image_shape=info.image_shape)
    assert list(explorer.kind.options) == ["histogram", "scatter matrix", "correlation", "class balance", "images"]
    for kind in explorer.kind.options:
        explorer.kind.value = kind
        bundle = explorer.plot.outputs[0]["data"]
        assert "application/vnd.plotly.v1+json" in bundle and explorer.status.value == "", kind
    assert explorer.columns.layout.display == "none"


def test_controls_change_the_figure_and_errors_are_shown():
    frame = data.load_sample("iris")[0]
    explorer = Explorer(frame, target="target")
    explorer.column.value = "petal width (cm)"
    assert "petal width" in explorer.plot.outputs[0]["data"]["text/plain"]
    explorer.kind.value = "scatter matrix"
    explorer.columns.value = ("sepal length (cm)",) * 1
    assert explorer.plot.outputs
    explorer.state.columns = [c for c in frame.columns] * 2  # 10 columns
    assert "unreadable" in explorer.status.value and explorer.plot.outputs == ()
