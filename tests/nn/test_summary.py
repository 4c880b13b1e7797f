import tesla_lab as tesla
from tesla_lab.nn import count_params


def test_summary_reports_shapes_params_and_tt_compression():
    model = tesla.nn.Sequential([
        tesla.nn.Flatten(input_shape=(16, 16)),
        tesla.nn.Dense(256, activation="relu", tt_rank=4),
        tesla.nn.Dense(10),
    ])
    s = model.summary()
    assert [r.output_shape for r in s.rows] == [(256,), (256,), (10,)]
    tt_row = s.rows[1]
    assert tt_row.dense_params == 256 * 256 + 256
    assert tt_row.params < tt_row.dense_params / 10
    assert s.total_params == sum(p.numel() for p in model.parameters())
    text = str(s)
    assert "Dense" in text and "Total params" in text and "compression" in text


def test_count_params_counts_only_nonzeros_of_pruned_layers():
    layer = tesla.nn.SparseLinear(10, 10, sparsity=0.5)
    stored, dense = count_params(layer)
    assert dense == 110
    assert stored == layer.nnz + 10


def test_summary_without_input_shape_says_how_to_get_shapes():
    s = tesla.nn.Sequential([tesla.nn.Dense(3, input_dim=2)]).summary()
    assert s.rows[0].output_shape == (3,)  # Dense declares input_dim
    lazy = tesla.nn.Sequential([tesla.nn.Dense(3)]).summary()
    assert "Output shapes unknown" in str(lazy)
