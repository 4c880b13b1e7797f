"""The workbench's plotly figures."""

import pandas as pd
import pytest

from tesla_lab import data
from tesla_lab.errors import DataError
from tesla_lab.ui import plots


@pytest.fixture(scope="module")
def iris():
    return data.load_sample("iris")[0]


def test_histogram_is_stacked_by_class(iris):
    fig = plots.histogram(iris, "petal length (cm)", color="target")
    assert [t.type for t in fig.data] == ["histogram"] * 3
    assert "petal length" in fig.layout.title.text


def test_scatter_matrix_defaults_to_four_numeric_columns_and_samples_big_tables(iris):
    fig = plots.scatter_matrix(iris, color="target")
    assert len(fig.data[0].dimensions) == 4
    big = pd.concat([iris] * 20, ignore_index=True)  # 3000 rows
    fig = plots.scatter_matrix(big, ["sepal length (cm)", "sepal width (cm)"])
    assert len(fig.data[0].dimensions[0].values) == 2000


def test_correlation_of_constant_columns_is_zero_not_blank():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "zero": [0.0, 0.0, 0.0], "b": [3.0, 2.0, 1.0]})
    z = plots.correlation_heatmap(frame).data[0].z
    assert z[0][2] == pytest.approx(-1.0) and z[0][1] == 0.0


def test_class_balance_counts_rows_per_class(iris):
    fig = plots.class_balance(iris, "target")
    assert list(fig.data[0].y) == [50, 50, 50]


def test_image_grid_titles_each_image_with_its_label():
    frame, info = data.load_sample("digits")
    fig = plots.image_grid(frame, info.image_shape, target="target", n=10, columns=5)
    titles = sorted(a.text for a in fig.layout.annotations)
    assert titles == sorted(str(v) for v in frame["target"].head(10))


def test_curves_draw_one_line_per_run_and_metric():
    history = pd.DataFrame({"run": ["a", "a", "b", "b"], "key": ["loss"] * 4, "step": [0, 1, 0, 1],
                            "value": [1.0, 0.5, 0.9, 0.4]})
    fig = plots.curves(history)
    assert sorted(t.name for t in fig.data) == ["a", "b"]


@pytest.mark.parametrize("call, match", [
    (lambda df: plots.histogram(df, "nope"), "column 'nope' not found"),
    (lambda df: plots.histogram(df, "a", color="nope"), "column 'nope' not found"),
    (lambda df: plots.scatter_matrix(df[["t"]]), "a scatter matrix needs numeric columns"),
    (lambda df: plots.scatter_matrix(df, ["a"] * 9), "a scatter matrix of 9 columns is unreadable"),
    (lambda df: plots.correlation_heatmap(df[["a", "t"]]), "needs at least two numeric columns"),
    (lambda df: plots.image_grid(df, (3, 3)), r"rows of 3 pixel columns cannot be drawn as \(3, 3\) images"),
])
def test_plots_explain_what_they_cannot_draw(call, match):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [2.0, 1.0], "t": ["x", "y"]})
    with pytest.raises(DataError, match=match):
        call(frame)
