"""Domain adaptation in Keras 3 (TensorFlow backend): gradient reversal, Deep CORAL loss and AdaBN.

The same names as :mod:`tlhelpers.adapt.torch` (``GradientReversal``, ``grad_reverse``, ``coral_loss``,
``adabn``)::

    import tlhelpers.adapt.keras as ak
    domain = ak.GradientReversal(1.0)(features)                    # identity forward, -1 x gradient back
    ak.adabn(model, target_images)                                 # BatchNorm moving statistics of the target

Importing this module imports Keras and TensorFlow.
"""

from __future__ import annotations

from typing import Any, Iterator

import keras
import numpy as np
import tensorflow as tf
from keras import ops

__all__ = ["grad_reverse", "GradientReversal", "coral_loss", "adabn"]


def _check_backend() -> None:
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"tlhelpers.adapt.keras needs the TensorFlow backend (KERAS_BACKEND=tensorflow), "
                           f"Keras runs on {keras.backend.backend()!r}")


def grad_reverse(x: Any, lambda_: Any = 1.0) -> Any:
    """Gradient reversal (Ganin & Lempitsky, 2015): returns ``x`` unchanged; the gradient that flows back
    through it is ``-lambda_`` times the incoming one (``tf.custom_gradient``)."""
    _check_backend()
    lam = tf.cast(tf.convert_to_tensor(lambda_), x.dtype)  # a tensor, so a variable's current value is used

    @tf.custom_gradient
    def _reverse(t: tf.Tensor) -> tuple[tf.Tensor, Any]:
        def grad(upstream: tf.Tensor) -> tf.Tensor:
            return -lam * upstream
        return tf.identity(t), grad

    return _reverse(x)


class GradientReversal(keras.layers.Layer):
    """Layer form of :func:`grad_reverse`. ``lambda_`` is kept in a non-trainable variable, so setting
    ``layer.lambda_ = value`` during training (e.g. from a callback, for a schedule) takes effect inside
    compiled ``fit`` steps too."""

    def __init__(self, lambda_: float = 1.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lambda = self.add_weight(shape=(), initializer=keras.initializers.Constant(float(lambda_)),
                                       trainable=False, name="lambda")

    @property
    def lambda_(self) -> float:
        return float(self._lambda.numpy())

    @lambda_.setter
    def lambda_(self, value: float) -> None:
        self._lambda.assign(float(value))

    def call(self, inputs: Any) -> Any:
        return grad_reverse(inputs, self._lambda.value)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "lambda_": self.lambda_}


def coral_loss(source: Any, target: Any) -> Any:
    """Deep CORAL's loss ``||C_S - C_T||_F^2 / (4 d^2)`` between two ``(n, d)`` batches (differentiable).

    ``C`` are unbiased covariance matrices, as in :func:`tlhelpers.adapt.coral_loss` (the NumPy reference).
    """
    s, t = ops.convert_to_tensor(source), ops.convert_to_tensor(target)
    if len(s.shape) != 2 or len(t.shape) != 2 or s.shape[1] != t.shape[1]:
        raise ValueError(f"coral_loss needs two (n, d) batches with the same d, got {s.shape} and {t.shape}")

    def cov(x: Any) -> Any:
        n = ops.cast(ops.shape(x)[0], x.dtype)
        centred = x - ops.mean(x, axis=0, keepdims=True)
        return ops.matmul(ops.transpose(centred), centred) / (n - 1.0)

    d = float(s.shape[1])
    return ops.sum(ops.square(cov(s) - cov(t))) / (4.0 * d * d)


# ---------------------------------------------------------------------------------------------------- AdaBN


def _batch_norms(model: Any) -> list[keras.layers.BatchNormalization]:
    found, stack = [], [model]
    while stack:  # models inside models (e.g. a frozen base inside add_head's model)
        layer = stack.pop()
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        stack.extend(getattr(layer, "layers", []) or [])
    return list({id(b): b for b in found}.values())


def _batches(data: Any, batch_size: int) -> Iterator[Any]:
    if isinstance(data, (np.ndarray, tf.Tensor)):
        for start in range(0, len(data), batch_size):
            yield data[start:start + batch_size]
    else:
        for batch in data:
            yield batch[0] if isinstance(batch, (tuple, list)) else batch


def adabn(model: keras.Model, target_data: Any, batch_size: int = 64) -> keras.Model:
    """AdaBN (Li et al., 2016): recompute every BatchNormalization layer's ``moving_mean`` and
    ``moving_variance`` from target data.

    ``target_data``: inputs ready for ``model`` (an array, cut into batches of ``batch_size``) or an iterable of
    batches (``x`` or ``(x, ...)``; e.g. a ``tf.data.Dataset``).

    How: every BatchNormalization layer (also inside nested models, even frozen ones and even when the outer
    model calls its base with ``training=False``) is made to normalise with the batch's statistics and to update
    its moving statistics with momentum ``(k - 1) / k`` at batch ``k``, which makes them the average over
    batches of the batch statistics (as PyTorch's ``momentum=None``). Other layers run in inference mode and
    nothing else changes; each layer's ``call``, ``momentum`` and ``trainable`` are put back afterwards. Keras
    keeps the biased (``n``) batch variance, PyTorch the unbiased (``n - 1``) one. Returns ``model``.
    """
    _check_backend()
    norms = _batch_norms(model)
    if not norms:
        raise ValueError("the model has no BatchNormalization layer: AdaBN has nothing to adapt")
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (BatchNorm needs a batch to estimate statistics), got {batch_size}")
    if any(getattr(b, "renorm", False) for b in norms):
        raise ValueError("BatchNormalization with renorm=True is not supported by adabn")
    saved = [(b, b.momentum, b.trainable) for b in norms]

    def batch_statistics(layer: keras.layers.BatchNormalization) -> Any:
        original = type(layer).call

        def call(inputs: Any, training: Any = None, mask: Any = None) -> Any:
            return original(layer, inputs, training=True, mask=mask)
        return call

    seen = 0
    try:
        for b in norms:
            b.trainable = True  # BatchNormalization only uses and updates batch statistics when trainable
            b.call = batch_statistics(b)
        for k, batch in enumerate(_batches(target_data, batch_size), start=1):
            for b in norms:
                b.momentum = (k - 1) / k  # batch 1 replaces the statistics, batch k weighs 1/k
            model(batch, training=False)
            seen += int(batch.shape[0])
    finally:
        for b, momentum, trainable in saved:
            b.__dict__.pop("call", None)
            b.momentum = momentum
            b.trainable = trainable
    if seen == 0:
        raise ValueError("target_data gave no examples")
    return model
