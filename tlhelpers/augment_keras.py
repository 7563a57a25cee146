"""Image augmentation as Keras preprocessing layers: random flip, rotation, zoom, shift and background colour.

Keras' own ``RandomFlip``, ``RandomRotation``, ``RandomZoom`` and ``RandomTranslation``, plus
:class:`RandomBackground` (written here with ``keras.ops``), in one ``keras.Sequential``; the same augmentation
as :func:`tlhelpers.augment_torch.augmentation` and also available as ``tlhelpers.keras.augmentation``. Put it
first in a model (it is active in training only, the identity in ``predict``/``evaluate``)::

    augment = augmentation(rotation=0.05, zoom=0.15, translation=0.1, flip=True, background=0.5, seed=0)
    inputs = keras.Input((96, 96, 3)); x = augment(inputs); x = base(preprocess_input(x)) ...

Images are 0-255 NHWC. ``rotation`` is a fraction of a full turn, ``zoom`` and ``translation`` fractions of the
image size, ``flip`` a horizontal flip (it keeps the label of every emoji class set in :mod:`tlhelpers.emoji`;
it would not for left/right arrows or letters as classes of their own), ``background`` the probability of
replacing the background colour (``fill``, a grey level: 255 is white) by a random one; uncovered areas are
filled with ``fill``. With every strength at zero the result is the identity.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import layers, ops

__all__ = ["RandomBackground", "augmentation"]


@keras.saving.register_keras_serializable(package="tlhelpers")
class RandomBackground(layers.Layer):
    """Replace the background colour (pixels near the grey level ``fill``) by a random colour.

    Each image is recoloured with probability ``probability``; pixels within ``tolerance`` of ``fill`` take
    the new colour, anti-aliased edges in part. Active when ``training`` is true (the default when called
    directly, like Keras' random layers; ``predict`` and ``evaluate`` pass ``training=False``).
    """

    def __init__(self, probability: float = 0.5, fill: float = 255.0, tolerance: float = 24.0,
                 seed: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= float(probability) <= 1.0:
            raise ValueError(f"probability must be between 0 and 1, got {probability}")
        self.probability, self.fill, self.tolerance, self.seed = float(probability), float(fill), tolerance, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool = True) -> Any:
        x = ops.cast(inputs, "float32")
        if not training or self.probability == 0:
            return x
        n = ops.shape(x)[0]
        colour = keras.random.uniform((n, 1, 1, 3), 0.0, 255.0, seed=self.seed_generator)
        apply = ops.cast(keras.random.uniform((n, 1, 1, 1), seed=self.seed_generator) < self.probability,
                         "float32")
        distance = ops.max(ops.abs(x - self.fill), axis=-1, keepdims=True)
        weight = ops.clip(1.0 - distance / self.tolerance, 0.0, 1.0) * apply
        return x + weight * (colour - x)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "probability": self.probability, "fill": self.fill,
                "tolerance": self.tolerance, "seed": self.seed}


def augmentation(rotation: float = 0.05, zoom: float = 0.15, translation: float = 0.1, flip: bool = True,
                 background: float = 0.5, fill: float = 255.0, seed: int | None = None) -> keras.Sequential:
    """A ``keras.Sequential`` of preprocessing layers (defaults: up to +-18 degrees, +-15% zoom, +-10% shift,
    flips, and a random background colour for half the images). Same name and arguments as
    ``tlhelpers.torch.augmentation``. Layers with zero strength are left out; with all at zero it is the
    identity. ``seed`` seeds each layer (``seed``, ``seed + 1``, ...) so that the result is reproducible."""
    for name, value in (("rotation", rotation), ("zoom", zoom), ("translation", translation),
                        ("background", background)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}")

    def layer_seed(i: int) -> int | None:
        return None if seed is None else int(seed) + i

    fill_args = {"fill_mode": "constant", "fill_value": float(fill), "interpolation": "bilinear"}
    stack: list[layers.Layer] = []
    if flip:
        stack.append(layers.RandomFlip("horizontal", seed=layer_seed(0)))
    if rotation:
        stack.append(layers.RandomRotation(rotation, seed=layer_seed(1), **fill_args))
    if zoom:
        stack.append(layers.RandomZoom((-zoom, zoom), (-zoom, zoom), seed=layer_seed(2), **fill_args))
    if translation:
        stack.append(layers.RandomTranslation((-translation, translation), (-translation, translation),
                                              seed=layer_seed(3), **fill_args))
    if background:
        stack.append(RandomBackground(background, fill, seed=layer_seed(4)))
    return keras.Sequential(stack or [layers.Identity()], name="augmentation")
