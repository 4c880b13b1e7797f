"""TESLA document 002's TensorFlow sample with a TESLA ``TTDense`` for its ``Dense`` layer, on the TensorFlow backend.

The document's code does not run as printed: its ``Conv2D`` gets ``input_shape=(input_dim,)`` (a convolution needs
images), its ``MaxPooling2D`` an ``activation=`` it does not take, a ``Flatten`` is missing before the dense layers,
and two brackets are unclosed. Those are fixed here; its layers, sizes, optimizer and loss are kept.
"""

import pytest

from tesla_lab.keras import TTDense, backend

pytestmark = pytest.mark.skipif(backend() != "tensorflow", reason="the document's sample is tf.keras code")


def test_document_tf_keras_sample_trains_with_a_ttdense_layer(digits):
    import tensorflow as tf

    X, y, *_ = digits
    x_train = X[:512].reshape(-1, 8, 8, 1)  # digits: 8x8 images in place of the document's 28x28
    y_train = tf.keras.utils.to_categorical(y[:512], 10)
    model = tf.keras.models.Sequential([
        tf.keras.layers.Input(shape=(8, 8, 1)),
        # Convolutional layer
        tf.keras.layers.Conv2D(filters=10, kernel_size=(3, 3), activation='relu'),
        # Pooling layer
        tf.keras.layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)),
        tf.keras.layers.Flatten(),
        # Fully connected layer: a tensor train
        TTDense(units=10, activation='relu'),
        # Output layer
        tf.keras.layers.Dense(units=10, activation='softmax'),
    ])
    model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])
    history = model.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0)
    loss = history.history["loss"]
    assert len(loss) == 2 and loss[1] < loss[0]
    tt = model.layers[3]
    assert isinstance(tt, TTDense) and tt.in_features == 90 and tt.count_params() < 90 * 10 + 10
