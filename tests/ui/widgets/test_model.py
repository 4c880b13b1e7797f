"""ModelBuilder widget: editing layers and settings updates the summary; errors show inline."""

from tesla_lab.ui.widgets import ModelBuilder


def test_layer_rows_follow_add_move_retype_and_remove():
    builder = ModelBuilder(n_inputs=64, n_outputs=10)
    builder.add_kind.value = "Dropout"
    builder.add_button.click()
    builder.add_kind.value = "Dense"
    builder.add_button.click()
    assert [row.kind.value for row in builder.rows] == ["TT", "Dropout", "Dense"]
    builder.rows[2].up.click()
    assert [row.kind.value for row in builder.rows] == ["TT", "Dense", "Dropout"]
    builder.rows[1].kind.value = "TT"
    assert set(builder.rows[1].fields) == {"units", "activation", "tt_rank", "in_shape", "out_shape"}
    builder.rows[2].remove.click()
    assert len(builder.rows) == 2
    builder.rows[0].down.click()
    assert builder.state.layers[1]["units"] == 32


def test_field_edits_update_the_counts_and_errors_block_the_launch():
    builder = ModelBuilder(n_inputs=64, n_outputs=10)
    before = builder.state.total_params
    builder.rows[0].fields["units"].value = 64
    assert builder.state.total_params > before and "parameters" in builder.stats.value
    builder.rows[0].fields["in_shape"].value = "4,4,4"
    assert builder.state.can_launch and "tesla-message" in builder.status.value
    builder.rows[0].fields["tt_rank"].value = 0
    assert "tesla-error" in builder.status.value and not builder.state.can_launch
    assert builder.stats.value == "<b>no valid model</b>"


def test_settings_widgets_are_linked_both_ways():
    builder = ModelBuilder(n_inputs=64, n_outputs=10)
    builder.controls["batch_size"].value = 0
    assert builder.state.batch_size == 0 and "batch_size must be an integer" in builder.status.value
    builder.state.batch_size = 16
    assert builder.controls["batch_size"].value == 16 and builder.state.can_launch
    builder.controls["epochs"].value = 3
    assert builder.config.epochs == 3 and builder.config.family == "sequential"
    builder.state.layers = []
    assert "no hidden layers" in builder.layers_box.children[0].value
