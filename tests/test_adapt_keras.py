"""tlhelpers.adapt.keras: gradient reversal, Deep CORAL loss and AdaBN in Keras 3 (TensorFlow backend)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

import tlhelpers.adapt.keras as ak  # noqa: E402
from tlhelpers import adapt  # noqa: E402

# The same numbers as tests/test_adapt_torch.py.
X = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]], dtype=np.float32)
UPSTREAM = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], dtype=np.float32)


def _reversed_gradient(fn, lambda_):
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x, output_gradients=tf.constant(UPSTREAM)).numpy()


@pytest.mark.parametrize("lambda_", [1.0, 0.7, 0.0])
def test_gradient_reversal_is_identity_forward_and_minus_lambda_backward(lambda_):
    layer = ak.GradientReversal(lambda_)
    y, grad = _reversed_gradient(layer, lambda_)
    np.testing.assert_array_equal(y, X)
    np.testing.assert_array_equal(grad, -np.float32(lambda_) * UPSTREAM)
    _, grad_fn = _reversed_gradient(lambda x: ak.grad_reverse(x, lambda_), lambda_)
    np.testing.assert_array_equal(grad_fn, grad)


def test_gradient_reversal_same_numbers_as_pytorch():
    torch = pytest.importorskip("torch")
    import tlhelpers.adapt.torch as at

    x = torch.tensor(X, requires_grad=True)
    at.GradientReversal(0.7)(x).backward(torch.tensor(UPSTREAM))
    _, grad = _reversed_gradient(ak.GradientReversal(0.7), 0.7)
    np.testing.assert_array_equal(grad, x.grad.numpy())


def test_gradient_reversal_lambda_is_a_variable_seen_by_compiled_code():
    layer = ak.GradientReversal(1.0)
    assert layer.lambda_ == 1.0 and layer.trainable_weights == []

    @tf.function
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(layer(x))
        return tape.gradient(y, x)

    x = tf.ones(3)
    np.testing.assert_array_equal(grad(x).numpy(), [-1.0, -1.0, -1.0])
    layer.lambda_ = 0.25  # a schedule changes it between steps, without retracing
    np.testing.assert_array_equal(grad(x).numpy(), [-0.25, -0.25, -0.25])
    assert ak.GradientReversal.from_config(layer.get_config()).lambda_ == 0.25


def test_gradient_reversal_in_a_functional_model():
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones")(ak.GradientReversal(2.0)(inputs))
    model = keras.Model(inputs, outputs)
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(model(x))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), np.full_like(X, -2.0))


def test_coral_loss_matches_the_numpy_closed_form():
    rng = np.random.default_rng(0)
    s, t = rng.normal(size=(20, 6)), 2.0 * rng.normal(size=(30, 6)) + 1.0
    loss = ak.coral_loss(tf.constant(s), tf.constant(t))
    assert float(loss) == pytest.approx(adapt.coral_loss(s, t), rel=1e-10)
    assert float(ak.coral_loss(tf.constant(s), tf.constant(s))) == 0.0
    source = tf.constant(s)
    with tf.GradientTape() as tape:
        tape.watch(source)
        value = ak.coral_loss(source, tf.constant(t))
    assert np.abs(tape.gradient(value, source).numpy()).sum() > 0
    with pytest.raises(ValueError, match="same d"):
        ak.coral_loss(tf.constant(s), tf.constant(t[:, :3]))


def _net() -> tuple[keras.Model, keras.Model]:
    """A frozen base with BatchNorm inside a model that calls it with training=False (as add_head does)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, name="conv")(inp)
    h = keras.layers.BatchNormalization(name="bn1")(h)
    h = keras.layers.ReLU()(h)
    base = keras.Model(inp, keras.layers.GlobalAveragePooling2D()(h), name="base")
    base.trainable = False
    outer_in = keras.Input((8, 8, 3))
    z = keras.layers.Dropout(0.5)(base(outer_in, training=False))
    z = keras.layers.Dense(5, name="dense")(z)
    z = keras.layers.BatchNormalization(name="bn2")(z)
    return base, keras.Model(outer_in, z)


def test_adabn_sets_bn_statistics_to_the_target_batch_and_nothing_else():
    base, model = _net()
    weights = {w.path: w.numpy().copy() for w in model.weights if "moving" not in w.path}
    target = (3.0 * np.random.default_rng(0).normal(size=(16, 8, 8, 3)) + 2.0).astype(np.float32)
    ak.adabn(model, target, batch_size=16)

    bn1, bn2 = base.get_layer("bn1"), model.get_layer("bn2")
    h = base.get_layer("conv")(target).numpy()
    mean, var = h.mean((0, 1, 2)), h.var((0, 1, 2))  # Keras keeps the biased variance
    np.testing.assert_allclose(bn1.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(bn1.moving_variance.numpy(), var, rtol=1e-4, atol=1e-5)
    normalised = np.maximum((h - mean) / np.sqrt(var + bn1.epsilon) * bn1.gamma.numpy() + bn1.beta.numpy(), 0)
    z = model.get_layer("dense")(normalised.mean((1, 2))).numpy()  # dropout off
    np.testing.assert_allclose(bn2.moving_mean.numpy(), z.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn2.moving_variance.numpy(), z.var(0), rtol=1e-4, atol=1e-5)
    for w in model.weights:
        if "moving" not in w.path:
            np.testing.assert_array_equal(w.numpy(), weights[w.path], err_msg=f"adabn changed {w.path}")
    assert not bn1.trainable and bn2.trainable and bn1.momentum == 0.99
    assert "call" not in bn1.__dict__  # the layer's own call is back


def test_adabn_averages_over_equal_batches():
    base, model = _net()
    target = np.random.default_rng(1).normal(size=(32, 8, 8, 3)).astype(np.float32) - 1.0
    ak.adabn(model, tf.data.Dataset.from_tensor_slices(target).batch(16))
    overall = base.get_layer("conv")(target).numpy().mean((0, 1, 2))
    np.testing.assert_allclose(base.get_layer("bn1").moving_mean.numpy(), overall, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="no BatchNormalization"):
        ak.adabn(keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)]), np.zeros((4, 3)))
