"""Keras TensorNetwork: the documents' ``keras.layers.TensorNetwork(...)`` sample, per-layer options, saving."""

import warnings

import numpy as np
import pytest

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.keras import Residual, SparseAttention, TensorNetwork, TTDense, keras

# TESLA document 003, "Implementing TESLA in Keras", with `from tesla_lab.keras import TensorNetwork` for its
# `keras.layers.TensorNetwork` (Keras has no such layer). X_train/y_train: 100 features around one of 10 class
# centres, integer labels (loss='mse' one-hot encodes them, as the torch TensorNetwork does).
SAMPLE = """\
from tesla_lab.keras import TensorNetwork

# Define a TensorNetwork
tn = TensorNetwork(input_dim=100, hidden_dim=10, output_dim=10)

# Add layers to the network
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10)
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10)

# Compile the network
tn.compile(optimizer='adam', loss='mse')

# Train the network
tn.fit(X_train, y_train, epochs=100)
"""


def to_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


def make_data(n, seed):
    centres = np.random.default_rng(0).normal(size=(10, 100)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10)
    return (centres[y] + 0.5 * rng.normal(size=(n, 100))).astype(np.float32), y.astype(np.int64)


def test_document_sample_trains_a_classifier_from_integer_labels():
    X_train, y_train = make_data(64, seed=1)
    namespace = {"X_train": X_train, "y_train": y_train}
    exec(SAMPLE, namespace)
    tn = namespace["tn"]
    loss = tn.history.history["loss"]
    assert len(loss) == 100 and loss[-1] < 0.25 * loss[0]
    X_test, y_test = make_data(200, seed=2)
    accuracy = float((to_numpy(tn.predict(X_test, verbose=0)).argmax(1) == y_test).mean())
    assert accuracy > 0.6  # chance is 0.1
    # the blocks: 100 -> 10 TT layer, then two residual 10 -> 10 -> 10 blocks of TT layers, a dense head
    assert isinstance(tn.body[0], TTDense) and sum(isinstance(b, Residual) for b in tn.body) == 2
    assert tn.count_params() == tn.body[0].count_params() + sum(b.count_params() for b in tn.body[1:]) + 110


def test_options_map_to_keras_features():
    tn = TensorNetwork(input_dim=100, hidden_dim=10, output_dim=10)
    tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, attention_type="sparse")
    tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, checkpoint_gradients=True, mixed_precision=True)
    tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, data_parallel=True, model_parallel=True)
    assert tn.layer_flags() == {"hidden1": ("attention_type=sparse",),
                                "hidden2": ("checkpoint_gradients", "mixed_precision=bf16"),
                                "hidden3": ("data_parallel", "model_parallel")}
    blocks = [b for b in tn.body if isinstance(b, Residual)]  # attention, its feed-forward block, 2 flagged blocks
    attention = blocks[0].inner[0]
    assert isinstance(attention, SparseAttention) and attention.attention_type == "block"
    flagged = blocks[2].inner[0]
    assert isinstance(flagged, TTDense) and flagged._remat_mode is not None and flagged._remat_mode.mode == "full"
    assert flagged.dtype_policy.name == "mixed_bfloat16" and flagged.compute_dtype == "bfloat16"
    assert tn.body[0]._remat_mode is None and tn.body[0].compute_dtype == "float32"
    assert blocks[3].inner[0]._remat_mode is None and blocks[3].inner[0].compute_dtype == "float32"


def test_checkpointed_mixed_precision_block_trains_and_parallel_flags_warn_once():
    tn = TensorNetwork(input_dim=100, hidden_dim=10, output_dim=10)
    tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, checkpoint_gradients=True, mixed_precision=True,
                 data_parallel=True)
    X, y = make_data(16, seed=3)
    tn.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        first = tn.fit(X, y, epochs=1, verbose=0).history["loss"][0]
        second = tn.fit(X, y, epochs=1, verbose=0).history["loss"][0]
    assert sum("data_parallel=True are recorded only on Keras" in str(w.message) for w in seen) == 1
    assert np.isfinite(first) and second < first
    assert to_numpy(tn(X[:2])).dtype == np.float32


def test_save_and_load_model_round_trip(tmp_path):
    tn = TensorNetwork(input_dim=64, hidden_dim=16, output_dim=3, tt_rank=4, output_activation="softmax")
    tn.add_layer(attention_type="local", num_heads=2, hidden_dim=16, output_dim=16)
    tn.add_layer("dense", 8, activation="tanh", dropout=0.1)
    x = np.random.default_rng(5).normal(size=(4, 8, 8)).astype(np.float32)  # images flatten to 64 features
    expected = to_numpy(tn(x))
    tn.save(tmp_path / "tn.keras")
    loaded = keras.models.load_model(tmp_path / "tn.keras")
    assert isinstance(loaded, TensorNetwork) and loaded.get_config()["layers"] == tn.get_config()["layers"]
    np.testing.assert_allclose(to_numpy(loaded(x)), expected, rtol=0, atol=1e-6)


def test_bad_sizes_and_kinds_are_clear_errors():
    tn = TensorNetwork(input_dim=10, hidden_dim=10, output_dim=2)
    with pytest.raises(ShapeError, match=r"add_layer\(input_dim=12\) does not match the previous layer hidden0"):
        tn.add_layer(input_dim=12)
    with pytest.raises(ConfigError, match="pruned sparse layers are PyTorch-only"):
        tn.add_layer("sparse", 10)
    with pytest.raises(ConfigError, match="unknown layer kind 'convolution'; choose one of: activation"):
        tn.add_layer("convolution")
    with pytest.raises(ConfigError, match="unknown activation 'rleu'"):
        tn.add_layer("dense", 4, activation="rleu")
    with pytest.raises(ConfigError, match="TT ranks must be integers >= 1; got tt_rank=0"):
        TensorNetwork(10, 10, 2, tt_rank=0)
    with pytest.raises(ShapeError, match=r"TensorNetwork\(input_dim=10\) got inputs of shape \(3, 11\)"):
        tn(np.zeros((3, 11), np.float32))
    tn(np.zeros((3, 10), np.float32))
    with pytest.raises(ConfigError, match="cannot add layers to a built TensorNetwork"):
        tn.add_layer("dense", 4)
    tn.compile(loss="mse")
    with pytest.raises(ConfigError, match=r"labels in 0..1 \(output_dim=2\); got labels from 0 to 5"):
        tn.fit(np.zeros((2, 10), np.float32), np.array([0, 5]), verbose=0)


def test_training_flag_reaches_dropout_inside_residual_blocks():
    tn = TensorNetwork(input_dim=16, hidden_dim=16, output_dim=2, activation="relu")
    tn.add_layer(hidden_dim=16, output_dim=16, dropout=0.5)  # a residual 16 -> 16 -> 16 block with dropout
    assert [type(layer).__name__ for layer in tn.body[-1].inner].count("Dropout") == 2
    x = np.random.default_rng(6).normal(size=(8, 16)).astype(np.float32)
    inference = to_numpy(tn(x, training=False))
    np.testing.assert_array_equal(to_numpy(tn(x)), inference)
    assert not np.allclose(to_numpy(tn(x, training=True)), inference)
