"""Keras SparseAttention: the masks and outputs of the torch layer, flat inputs, errors."""

import numpy as np
import pytest
import torch

from tesla_lab.errors import ConfigError, ShapeError
from tesla_lab.keras import SparseAttention, attention_mask, keras
from tesla_lab.nn import attention as torch_attention


@pytest.mark.parametrize("kind, causal", [("local", False), ("block", True), ("full", True), ("sparse", False)])
def test_masks_are_the_torch_layers(kind, causal):
    ours = attention_mask(9, kind, window=2, block_size=3, causal=causal)
    theirs = torch_attention.attention_mask(9, kind, window=2, block_size=3, causal=causal).numpy()
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("kind", ["local", "block", "full"])
def test_outputs_match_the_torch_layer_with_the_same_weights(kind):
    layer = SparseAttention(8, num_heads=2, attention_type=kind, window=1, block_size=2, causal=kind == "block")
    x = np.random.default_rng(0).normal(size=(3, 6, 8)).astype(np.float32)
    y = np.asarray(keras.ops.convert_to_numpy(layer(x)))
    with torch.no_grad():
        expected = layer.to_torch()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-5)
    flat = np.asarray(keras.ops.convert_to_numpy(layer(x.reshape(3, 48))))
    np.testing.assert_allclose(flat, y.reshape(3, 48), rtol=0, atol=1e-6)


def test_bad_arguments_and_shapes_are_clear_errors():
    with pytest.raises(ConfigError, match=r"Use num_heads in \[1, 2, 3, 6\]"):
        SparseAttention(6, num_heads=4)
    with pytest.raises(ConfigError, match="unknown attention_type 'lokal'; choose one of: block"):
        SparseAttention(8, attention_type="lokal")
    with pytest.raises(ShapeError, match=r"expects \(batch, seq_len, embed_dim=8\) or flat .* got shape \(2, 12\)"):
        SparseAttention(8, 2)(np.zeros((2, 12), np.float32))
