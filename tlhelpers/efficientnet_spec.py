"""EfficientNet-Lite0, described without any deep-learning framework.

Both :mod:`tlhelpers.torch` and :mod:`tlhelpers.keras` build the network from this description, so the two
models have the same layers in the same order and can share one set of weights.

EfficientNet-Lite0 is EfficientNet-B0 made friendly to mobile accelerators: no squeeze-and-excitation, ReLU6
instead of swish, and the stem (32 channels) and head (1280 channels) are not scaled.

What the checkpoint expects (measured on skimage's photos, see ``tests/test_backbone_agreement.py``):

* **Padding** is TensorFlow's ``"same"``: for stride 1 that is ``k // 2`` on every side, for stride 2 the extra
  pixel goes to the bottom/right (for a 224 px input and a 3x3 kernel: 0 before, 1 after). Plain symmetric
  ``k // 2`` padding still classifies well, but less confidently (mean log-probability of the right class on 48
  crops: -0.42 symmetric vs -0.28 "same").
* **Input scaling** is the TF-Lite reference's ``(pixel - 127) / 128`` on 0-255 RGB, i.e. roughly [-1, 1]. The
  BatchNorm running statistics of the first layers match this scaling (and not ImageNet mean/std), and the
  predictions are better with it (47/48 crops right vs 45/48 with ImageNet mean/std).
* BatchNorm epsilon 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MEAN_RGB",
    "STD_RGB",
    "PREPROCESSING",
    "BN_EPSILON",
    "BN_MOMENTUM_KERAS",
    "STEM_CHANNELS",
    "HEAD_CHANNELS",
    "NUM_CLASSES",
    "DROPOUT",
    "BlockSpec",
    "BLOCKS",
    "same_padding",
    "checkpoint_layers",
]

#: Per-channel mean and standard deviation in 0-255 pixel units: ``x = (pixel - MEAN_RGB) / STD_RGB``.
MEAN_RGB: tuple[float, float, float] = (127.0, 127.0, 127.0)
STD_RGB: tuple[float, float, float] = (128.0, 128.0, 128.0)
#: A name for the preprocessing, used in cache keys.
PREPROCESSING = "tflite-127-128"

BN_EPSILON = 1e-3
BN_MOMENTUM_KERAS = 0.99  # PyTorch's momentum 0.01
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
DROPOUT = 0.2

# (repeats, kernel, first stride, expand ratio, in channels, out channels) per stage, as in EfficientNet-B0.
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


@dataclass(frozen=True)
class BlockSpec:
    """One inverted-residual (MBConv) block.

    ``name`` follows ``keras.applications``: ``block{stage}{letter}``, e.g. ``block3b`` is the second block of
    stage 3. ``index`` (0-15) is the position in the checkpoint (``_blocks.{index}``).
    """

    index: int
    stage: int
    name: str
    kernel: int
    stride: int
    expand_ratio: int
    in_channels: int
    out_channels: int

    @property
    def expanded_channels(self) -> int:
        """Channels inside the block (after the 1x1 expansion)."""
        return self.in_channels * self.expand_ratio

    @property
    def has_skip(self) -> bool:
        """Whether the block adds its input to its output (identity shortcut)."""
        return self.stride == 1 and self.in_channels == self.out_channels


def _make_blocks() -> tuple[BlockSpec, ...]:
    blocks = []
    for stage, (repeats, kernel, stride, expand, cin, cout) in enumerate(_STAGES, start=1):
        for j in range(repeats):
            blocks.append(BlockSpec(
                index=len(blocks), stage=stage, name=f"block{stage}{'abcdefgh'[j]}", kernel=kernel,
                stride=stride if j == 0 else 1, expand_ratio=expand, in_channels=cin if j == 0 else cout,
                out_channels=cout,
            ))
    return tuple(blocks)


#: The 16 MBConv blocks, input to output.
BLOCKS: tuple[BlockSpec, ...] = _make_blocks()


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``"same"`` padding (before, after) along one axis of length ``size``."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def checkpoint_layers() -> list[tuple[str, str, str]]:
    """Every weighted layer as ``(our name, checkpoint prefix, kind)``, input to output.

    ``kind`` is ``"conv"``, ``"dwconv"``, ``"bn"`` or ``"dense"``. Our names are the Keras layer names; the
    PyTorch model uses the same names with ``_`` turned into module paths (see ``tlhelpers.torch``).
    """
    layers = [("stem_conv", "_conv_stem", "conv"), ("stem_bn", "_bn0", "bn")]
    for b in BLOCKS:
        p = f"_blocks.{b.index}."
        if b.expand_ratio != 1:
            layers += [(f"{b.name}_expand_conv", p + "_expand_conv", "conv"),
                       (f"{b.name}_expand_bn", p + "_bn0", "bn")]
        layers += [(f"{b.name}_dwconv", p + "_depthwise_conv", "dwconv"),
                   (f"{b.name}_bn", p + "_bn1", "bn"),
                   (f"{b.name}_project_conv", p + "_project_conv", "conv"),
                   (f"{b.name}_project_bn", p + "_bn2", "bn")]
    layers += [("top_conv", "_conv_head", "conv"), ("top_bn", "_bn1", "bn"), ("predictions", "_fc", "dense")]
    return layers
