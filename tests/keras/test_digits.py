"""On sklearn digits a Keras TTDense model lands in the accuracy band of the torch TTLinear model (within 2 points).

Both start from the same weights (``TTDense.from_torch``) and see the same batches in the same order with the same
optimizer (Adam, lr 0.01, eps 1e-8), so a gap would come from the layer, not from the draw of the initialisation.
"""

import numpy as np
import torch

from tesla_lab.keras import TTDense, backend, keras
from tesla_lab.nn import TTLinear

EPOCHS, BATCH, ROWS = 8, 64, 1152  # 18 full batches per epoch


def test_ttdense_accuracy_matches_ttlinear_on_digits(digits):
    X_train, y_train, X_test, y_test = digits
    X_train, y_train = X_train[:ROWS], y_train[:ROWS]
    order = np.concatenate([np.random.default_rng(e).permutation(ROWS) for e in range(EPOCHS)])
    torch.manual_seed(0)
    tt, head = TTLinear(64, 64, rank=4), torch.nn.Linear(64, 10)
    net = torch.nn.Sequential(tt, torch.nn.ReLU(), head)
    model = keras.Sequential([keras.Input((64,)), TTDense.from_torch(tt, activation="relu"), keras.layers.Dense(10)])
    model.layers[1].set_weights([head.weight.detach().numpy().T, head.bias.detach().numpy()])

    optimizer = torch.optim.Adam(net.parameters(), lr=0.01, eps=1e-8)
    for start in range(0, len(order), BATCH):
        idx = order[start:start + BATCH]
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(torch.from_numpy(X_train[idx])), torch.from_numpy(y_train[idx]))
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        torch_accuracy = float((net(torch.from_numpy(X_test)).argmax(1).numpy() == y_test).mean())

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01, epsilon=1e-8),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(X_train[order], y_train[order], epochs=1, batch_size=BATCH, shuffle=False, verbose=0)
    keras_accuracy = float((np.asarray(model.predict(X_test, verbose=0)).argmax(1) == y_test).mean())

    assert torch_accuracy > 0.88, torch_accuracy  # about 0.9 after these 144 steps
    assert abs(keras_accuracy - torch_accuracy) <= 0.02, (backend(), keras_accuracy, torch_accuracy)
