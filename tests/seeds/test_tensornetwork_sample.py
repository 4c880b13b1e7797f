"""TESLA document 003 ("A Technical Overview"): its TensorNetwork snippets, run as one program.

The text is the document's, in its order: the network and its two plain layers, the efficient-computation layers
(sparse attention, gradient checkpointing, mixed precision), the scalability layers (data and model
parallelism), then ``compile``/``fit`` from its Keras section (without the ``keras.layers.`` prefix: the Keras
variant is another sample). The document does not say what ``X_train``/``y_train`` are; here they are a learnable
synthetic task: 100 features around one of 10 class centres, integer labels 0..9 (``loss='mse'`` one-hot encodes
them, as Keras does for a categorical target).
"""

import warnings

import numpy as np
import pytest
import torch

from tesla_lab.nn import Checkpointed, MixedPrecision, ModelParallel, SparseAttention, TTLinear

SAMPLE = """\
# Define a tensor network
tn = TensorNetwork(input_dim=100, hidden_dim=10, output_dim=10)
# Add layers to the network
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10)
# Add another layer
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10)
# Use sparse attention
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, attention_type='sparse')
# Use gradient checkpointing
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, checkpoint_gradients=True)
# Use mixed precision training
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, mixed_precision=True)
# Use data parallelism
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, data_parallel=True)
# Use model parallelism
tn.add_layer(input_dim=10, hidden_dim=10, output_dim=10, model_parallel=True)
# Compile the network
tn.compile(optimizer='adam', loss='mse')
# Train the network
tn.fit(X_train, y_train, epochs=100)
"""

# summary() rows of the added layers (hidden0 is the constructor's 100 -> 10 layer) and the flag each must show
FLAGS = {"hidden3": "attention_type=sparse", "hidden4": "checkpoint_gradients", "hidden5": "mixed_precision=bf16",
         "hidden6": "data_parallel", "hidden7": "model_parallel"}


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples of 100 features: a class centre (fixed, shared by every call) plus noise; labels 0..9."""
    centres = np.random.default_rng(0).normal(size=(10, 100)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 10)
    X = centres[y] + 0.5 * rng.normal(size=(n, 100)).astype(np.float32)
    return X.astype(np.float32), y.astype(np.int64)


@pytest.fixture(scope="module")
def trained():
    from tesla import TensorNetwork

    X_train, y_train = make_data(64, seed=1)
    namespace = {"TensorNetwork": TensorNetwork, "X_train": X_train, "y_train": y_train}
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead (and contend on a busy CI machine)
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            exec(SAMPLE, namespace)
    finally:
        torch.set_num_threads(threads)
    return namespace["tn"], [str(w.message) for w in seen]


@pytest.mark.slow
def test_sample_trains_a_classifier_from_integer_labels(trained):
    tn, _ = trained
    loss = tn.history.history["loss"]
    assert len(loss) == 100
    assert loss[-1] < 0.25 * loss[0]
    X_test, y_test = make_data(200, seed=2)
    accuracy = float((tn.predict_classes(X_test) == y_test).mean())
    assert accuracy > 0.6  # chance is 0.1


@pytest.mark.slow
def test_summary_lists_each_flag_on_its_layer(trained):
    tn, _ = trained
    summary = tn.summary()
    rows = {r.name: r for r in summary.rows}
    for name, flag in FLAGS.items():
        assert rows[name].flags == (flag,)
        line = next(line for line in str(summary).splitlines() if line.startswith(name + " "))
        assert line.rstrip().endswith(flag)
    assert not rows["hidden1"].flags and not rows["hidden2"].flags
    assert "Parallel: data_parallel=True and model_parallel=True are inactive" in str(summary)


@pytest.mark.slow
def test_parallel_flags_warn_once_in_one_process(trained):
    _, messages = trained
    assert sum("are inactive: this is one process" in m for m in messages) == 1


@pytest.mark.slow
def test_sparse_attention_layer_is_block_sparse(trained):
    tn, _ = trained
    attention = [m for m in tn.body[3].modules() if isinstance(m, SparseAttention)]
    assert len(attention) == 1 and attention[0].attention_type == "block"
    assert attention[0].mask_density(5) < 1.0  # 10 features = 5 tokens of 2; some token pairs never attend


@pytest.mark.slow
def test_mixed_precision_layer_computes_in_bf16(trained):
    tn, _ = trained
    block = tn.body[5]
    assert isinstance(block, MixedPrecision)
    layers = [m for m in block.modules() if isinstance(m, TTLinear)]  # input_dim -> hidden_dim -> output_dim
    seen = []
    handles = [m.register_forward_hook(lambda m, i, out: seen.append(out.dtype)) for m in layers]
    try:
        out = tn(torch.randn(3, 100))
    finally:
        for h in handles:
            h.remove()
    assert len(layers) == 2 and seen == [torch.bfloat16, torch.bfloat16]
    assert out.dtype == torch.float32  # the rest of the network stays fp32


def _saved_bytes(fn) -> int:
    total = []

    def pack(t):
        total.append(t.numel() * t.element_size())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(total)


@pytest.mark.slow
def test_checkpointed_layer_gives_the_same_gradients_and_saves_fewer_activations(trained):
    tn, _ = trained
    block = tn.body[4]
    assert isinstance(block, Checkpointed)
    tn.train()
    x = torch.randn(32, 10, requires_grad=True)
    grads = []
    saved = []
    for module in (block, block.module):  # checkpointed, then the same layer without it
        tn.zero_grad()
        saved.append(_saved_bytes(lambda m=module: m(x).square().sum().backward()))
        grads.append([p.grad.clone() for p in block.parameters()])
    for checkpointed, plain in zip(*grads):
        assert torch.allclose(checkpointed, plain, atol=1e-6)
    assert saved[0] < saved[1] / 2


@pytest.mark.slow
def test_model_parallel_layer_is_marked_for_sharding(trained):
    tn, _ = trained
    assert isinstance(tn.body[7], ModelParallel)  # sharded by tests/nn/test_network_parallel.py's torchrun run
