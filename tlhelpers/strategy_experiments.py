"""The experiments behind the strategy matrix (PyTorch): the course's own source CNN and models for each strategy.

A small CNN of six convolutional blocks (:func:`small_cnn`) serves as the source model, trained once and cached
(:func:`train_source_model`); models for each strategy of :data:`tlhelpers.strategy.STRATEGIES`
(:func:`strategy_model`) and for layer-by-layer transfer in the style of Yosinski et al. (2014)
(:func:`transfer_blocks`); a short training loop of a fixed number of steps (:func:`train_steps`, not to be
confused with :func:`tlhelpers.torch.fit`, which trains by epochs), :func:`predict`, :func:`accuracy` and
:func:`embed`. The advice itself (:func:`tlhelpers.strategy.recommend`) needs no PyTorch.

Conventions: images are grey ``(n, 28, 28)`` arrays with values 0-255; a network is an ``nn.Sequential`` with
``features`` (the convolutional blocks ``block1`` ... ``block6``, each conv -> BatchNorm -> ReLU, some followed by
max pooling) and ``head`` (average pooling to a 3x3 grid -> linear). A block whose parameters are all frozen is
*frozen*: its BatchNorm runs in inference mode (source statistics) during training, as in :mod:`tlhelpers.torch`.
Importing this module imports PyTorch (``import tlhelpers`` and :mod:`tlhelpers.strategy` do not).
"""

from __future__ import annotations

import hashlib
import io
import math
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from tlhelpers.cache import array_fingerprint, cache_dir, read_checked, stable_key, write_checked
from tlhelpers.settings import choose_device
from tlhelpers.strategy import STRATEGIES

__all__ = [
    "DEFAULT_WIDTHS",
    "DEFAULT_POOL_AFTER",
    "DEFAULT_GRID",
    "small_cnn",
    "to_tensor",
    "frozen_prefix",
    "transfer_blocks",
    "strategy_model",
    "train_steps",
    "predict",
    "accuracy",
    "embed",
    "source_model_path",
    "train_source_model",
]


# ------------------------------------------------------------------------------------------- the source CNN

#: Output channels of the six convolutional blocks (small, so that everything trains in minutes on a CPU).
DEFAULT_WIDTHS = (8, 16, 16, 32, 32, 64)
#: Blocks (0-based) followed by 2x2 max pooling: 28 -> 14 after block1, 14 -> 7 after block3.
DEFAULT_POOL_AFTER = (0, 2)
#: The head averages the last feature map over a grid x grid layout (3: keeps where things are) before its
#: linear layer.
DEFAULT_GRID = 3


def small_cnn(num_classes: int, widths: Sequence[int] = DEFAULT_WIDTHS,
              pool_after: Sequence[int] = DEFAULT_POOL_AFTER, grid: int = DEFAULT_GRID, seed: int | None = None) -> Any:
    """A CNN for grey 28x28 images: ``features`` (one block per entry of ``widths``: 3x3 conv, BatchNorm, ReLU,
    then 2x2 max pooling after the blocks listed in ``pool_after``) and ``head`` (global average pooling and
    a linear layer to ``num_classes`` logits). ``seed`` makes the random initialisation reproducible without
    touching the global random state. Returned in training mode, channels-last memory (faster on CPU).
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise ValueError(f"widths must be a non-empty list of positive channel counts, got {widths}")
    pools = sorted(set(int(p) for p in pool_after))
    if pools and (pools[0] < 0 or pools[-1] >= len(widths)):
        raise ValueError(f"pool_after must list block indices 0..{len(widths) - 1}, got {list(pool_after)}")
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        channels = 1
        for i, width in enumerate(widths):
            layers = [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            if i in pools:
                layers.append(nn.MaxPool2d(2))
            blocks[f"block{i + 1}"] = nn.Sequential(*layers)
            channels = width
        head = nn.Sequential(OrderedDict(pool=nn.AdaptiveAvgPool2d(grid), flatten=nn.Flatten(),
                                         linear=nn.Linear(channels * grid * grid, int(num_classes))))
        model = nn.Sequential(OrderedDict(features=nn.Sequential(blocks), head=head))
    return model.to(memory_format=torch.channels_last)


def _grid(model: Any) -> int:
    size = model.head.pool.output_size
    return int(size if isinstance(size, int) else size[0])


def _blocks(model: Any) -> Any:
    features = getattr(model, "features", None)
    if features is None or not hasattr(model, "head"):
        raise TypeError(f"expected a network from small_cnn (with .features and .head), got {type(model).__name__}")
    return features


def to_tensor(images: Any) -> Any:
    """Grey images ``(n, 28, 28)`` (or ``(n, 1, 28, 28)``), values 0-255, as a float32 tensor ``(n, 1, 28, 28)``
    scaled to 0..1."""
    if isinstance(images, torch.Tensor) and images.dtype == torch.float32 and images.ndim == 4:
        return images
    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4 or arr.shape[1] != 1:
        raise ValueError(f"images must be grey, shaped (n, h, w) or (n, 1, h, w); got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"image values must be in 0..255, got {arr.min()}..{arr.max()}")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32) / np.float32(255.0))


def frozen_prefix(model: Any) -> int:
    """How many leading blocks of ``model.features`` have all their parameters frozen."""
    n = 0
    for block in _blocks(model):
        params = list(block.parameters())
        if params and not any(p.requires_grad for p in params):
            n += 1
        else:
            break
    return n


def _set_frozen(block: Any, frozen: bool) -> None:
    for p in block.parameters():
        p.requires_grad_(not frozen)


def transfer_blocks(source: Any, n: int, num_classes: int, fine_tune: bool = False, seed: int = 0) -> Any:
    """A new network for the target: the first ``n`` blocks copied from ``source``, the other blocks and the
    head re-initialised (seeded with ``seed``), in the style of Yosinski et al. (2014).

    With ``fine_tune=False`` the copied blocks are frozen (their BatchNorm keeps the source's statistics);
    with ``fine_tune=True`` they stay trainable. ``n = 0`` is a network trained from scratch. ``source`` is not
    changed.
    """
    source_blocks = _blocks(source)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 0 <= n <= len(source_blocks):
        raise ValueError(f"n must be an integer between 0 and {len(source_blocks)} (the source's blocks), got {n!r}")
    widths = [block[0].out_channels for block in source_blocks]
    pools = [i for i, block in enumerate(source_blocks) if len(block) > 3]
    model = small_cnn(num_classes, widths, pools, grid=_grid(source), seed=seed)
    for i in range(int(n)):
        model.features[i].load_state_dict(source_blocks[i].state_dict())
        _set_frozen(model.features[i], not fine_tune)
    model.transferred = int(n)   # leading blocks from the source: train_steps gives them a lower learning rate
    return model


def strategy_model(strategy: str, source: Any, num_classes: int, seed: int = 0, top_blocks: int = 2) -> Any:
    """The network that ``strategy`` (one of :data:`STRATEGIES`) trains on the target.

    * ``train_from_scratch``: nothing from the source, every layer random and trainable;
    * ``feature_extraction``: every block from the source, frozen; a new head;
    * ``fine_tune_top``: every block from the source; the bottom ones frozen, the top ``top_blocks`` trainable;
    * ``fine_tune_all``: every block from the source, all trainable.

    New heads are initialised with ``seed``. Train it with :func:`train_steps`, which gives the transferred trainable
    blocks a lower learning rate.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    depth = len(_blocks(source))
    if not 1 <= top_blocks < depth:
        raise ValueError(f"top_blocks must be between 1 and {depth - 1}, got {top_blocks}")
    if strategy == "train_from_scratch":
        return transfer_blocks(source, 0, num_classes, seed=seed)
    model = transfer_blocks(source, depth, num_classes, fine_tune=strategy != "feature_extraction", seed=seed)
    if strategy == "fine_tune_top":
        for block in model.features[:depth - top_blocks]:
            _set_frozen(block, True)
    return model


def _train_mode(model: Any, frozen: int) -> None:
    """Training mode, except the frozen leading blocks (their BatchNorm keeps its statistics)."""
    model.train()
    for block in _blocks(model)[:frozen]:
        block.eval()


def _device_of(model: Any) -> Any:
    return next(model.parameters()).device


def _forward_in_batches(module: Any, x: Any, batch_size: int = 512) -> Any:
    with torch.inference_mode():
        return torch.cat([module(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])


#: The outputs of frozen leading blocks on some images, most recently used last: experiments that share a
#: frozen source prefix (feature extraction over seeds, the frozen curve of the layer experiment) run those
#: blocks on the same test set once, not once per model. Bounded, and only ever a cache of a pure function.
_PREFIX_MEMO: OrderedDict[tuple[str, str, str], Any] = OrderedDict()
_PREFIX_MEMO_SIZE = 8


def _state_fingerprint(module: Any) -> str:
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def _prefix_outputs(model: Any, frozen: int, images: Any) -> Any:
    """``model.features[:frozen]`` (eval mode) on ``images`` (0-255), on the model's device, memoised; the
    scaled images themselves when ``frozen`` is 0."""
    device = _device_of(model)
    x = to_tensor(images).to(device).contiguous(memory_format=torch.channels_last)
    if frozen == 0:
        return x
    prefix = _blocks(model)[:frozen].eval()
    key = (_state_fingerprint(prefix), array_fingerprint(np.asarray(images)), str(device))
    if key in _PREFIX_MEMO:
        _PREFIX_MEMO.move_to_end(key)
        return _PREFIX_MEMO[key]
    out = _forward_in_batches(prefix, x).clone()  # clone: leave inference mode, so autograd may take it as input
    _PREFIX_MEMO[key] = out
    while len(_PREFIX_MEMO) > _PREFIX_MEMO_SIZE:
        _PREFIX_MEMO.popitem(last=False)
    return out


def train_steps(model: Any, images: Any, labels: Any, steps: int, batch_size: int = 32, lr: float = 1e-2,
                transferred_lr_factor: float = 0.3, seed: int = 0, device: str | None = None) -> Any:
    """Train ``model`` (from :func:`small_cnn`, :func:`transfer_blocks` or :func:`strategy_model`) on grey
    0-255 ``images`` for ``steps`` Adam steps on mini-batches of ``batch_size`` (the whole set when it is
    smaller), with a learning rate that decays to 0 along a cosine. Returns ``model`` in eval mode.

    New layers learn at ``lr``; trainable blocks that came from a source (the ``model.transferred`` leading
    blocks, set by :func:`transfer_blocks`) at ``lr * transferred_lr_factor``, so that fine-tuning adjusts
    them rather than overwriting them. Frozen leading blocks run in inference mode and only once, up front
    (they never change); batches are drawn by a NumPy generator seeded with ``seed``. ``device``: as
    :func:`tlhelpers.settings.choose_device` (default: the best available).
    """

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    if batch_size < 1 or lr <= 0 or transferred_lr_factor < 0:
        raise ValueError(f"batch_size and lr must be positive and transferred_lr_factor >= 0, got {batch_size}, "
                         f"{lr}, {transferred_lr_factor}")
    if len(images) != len(labels) or len(labels) == 0:
        raise ValueError(f"need as many labels as images (and at least one): {len(images)} images, "
                         f"{len(labels)} labels")
    dev = torch.device(choose_device(device))
    model.to(dev)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=dev)
    frozen = frozen_prefix(model)
    blocks = _blocks(model)
    suffix = nn.Sequential(blocks[frozen:], model.head)
    transferred = int(getattr(model, "transferred", 0))
    slow = [p for block in blocks[frozen:transferred] for p in block.parameters() if p.requires_grad]
    fast = [p for block in blocks[max(frozen, transferred):] for p in block.parameters() if p.requires_grad]
    fast += [p for p in model.head.parameters() if p.requires_grad]
    if not fast and not slow:
        raise ValueError("the model has no trainable parameters: unfreeze the head at least")
    groups = [{"params": fast, "lr": lr}] + ([{"params": slow, "lr": lr * transferred_lr_factor}] if slow else [])
    # The fused implementation does the update of all parameters in one kernel: measured faster on CPU for our
    # many small tensors (it exists on CPU and CUDA).
    optimizer = torch.optim.Adam(groups, fused=True if dev.type in ("cpu", "cuda") else None)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    inputs = _prefix_outputs(model, frozen, images)
    rng = np.random.default_rng(seed)
    batch_size = min(int(batch_size), len(y))
    order, position = rng.permutation(len(y)), 0
    _train_mode(model, frozen)
    for _ in range(int(steps)):
        if position + batch_size > len(order):
            order, position = rng.permutation(len(y)), 0
        idx = torch.from_numpy(order[position:position + batch_size]).to(dev)
        position += batch_size
        loss = nn.functional.cross_entropy(suffix(inputs[idx]), y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    return model.eval()


def predict(model: Any, images: Any, batch_size: int = 512) -> np.ndarray:
    """Predicted class of each grey 0-255 image (eval mode, batched, on the model's device)."""
    model.eval()
    frozen = frozen_prefix(model)
    blocks = _blocks(model)
    suffix = nn.Sequential(blocks[frozen:], model.head)
    logits = _forward_in_batches(suffix, _prefix_outputs(model, frozen, images), batch_size)
    return logits.argmax(1).cpu().numpy()


def accuracy(model: Any, images: Any, labels: Any, batch_size: int = 512) -> float:
    """Fraction of ``images`` that ``model`` classifies as ``labels``."""
    labels = np.asarray(labels)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    return float((predict(model, images, batch_size) == labels).mean())


def embed(model: Any, images: Any, n_blocks: int | None = None, grid: int | None = None,
          batch_size: int = 512) -> np.ndarray:
    """Features of grey 0-255 ``images``: the output of the first ``n_blocks`` blocks (default: all), averaged
    over a ``grid`` x ``grid`` layout (default: the head's) and flattened, float32 ``(n, channels * grid**2)``.
    With the defaults these are exactly the features that a feature-extraction head sees."""
    blocks = _blocks(model)
    n_blocks = len(blocks) if n_blocks is None else n_blocks
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, (int, np.integer)) or not 1 <= n_blocks <= len(blocks):
        raise ValueError(f"n_blocks must be an integer between 1 and {len(blocks)}, got {n_blocks!r}")
    grid = _grid(model) if grid is None else int(grid)
    model.eval()
    x = to_tensor(images).to(_device_of(model)).contiguous(memory_format=torch.channels_last)
    prefix = blocks[:n_blocks]
    out = _forward_in_batches(lambda t: F.adaptive_avg_pool2d(prefix(t), grid).flatten(1), x, batch_size)
    return out.cpu().numpy()


# -------------------------------------------------------------------------------------- cached source model


def source_model_path(images: Any, labels: Any, **settings: Any) -> Path:
    """Where :func:`train_source_model` caches the model trained on these data with these settings."""
    key = stable_key("strategy-source-cnn", settings, array_fingerprint(np.asarray(images)),
                     array_fingerprint(np.asarray(labels)))
    return cache_dir("models") / f"source-cnn-{key}.pt"


def _load_checked_state(path: Path) -> Any:
    return read_checked(path, lambda p: torch.load(p, map_location="cpu", weights_only=True))


def train_source_model(images: Any, labels: Any, num_classes: int, steps: int, batch_size: int = 64,
                       lr: float = 3e-3, widths: Sequence[int] = DEFAULT_WIDTHS,
                       pool_after: Sequence[int] = DEFAULT_POOL_AFTER, grid: int = DEFAULT_GRID, seed: int = 0,
                       cache: bool = True, device: str | None = None) -> tuple[Any, bool]:
    """Train the source CNN once and cache it; returns ``(model, from_cache)``.

    The cache file (in the course cache's ``models/`` folder) is keyed by :func:`tlhelpers.cache.stable_key` of
    every setting and of fingerprints of the training images and labels, written atomically with its SHA-256
    beside it; a file whose checksum does not match is deleted and the model retrained. The model returned is
    always the one *read back from the file*, so a run that trains and a run that reads the cache continue
    with bit-identical weights.
    """
    settings = dict(num_classes=int(num_classes), steps=int(steps), batch_size=int(batch_size), lr=float(lr),
                    widths=[int(w) for w in widths], pool_after=[int(p) for p in pool_after], grid=int(grid),
                    seed=int(seed))
    model = small_cnn(num_classes, widths, pool_after, grid, seed=seed)
    path = source_model_path(images, labels, **settings) if cache else None
    state = _load_checked_state(path) if path is not None else None
    if state is not None:
        model.load_state_dict(state)
        return model.eval(), True
    train_steps(model, images, labels, steps=steps, batch_size=batch_size, lr=lr, seed=seed, device=device)
    model.cpu()
    if path is None:
        return model.eval(), False
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    write_checked(path, lambda handle: handle.write(buffer.getvalue()))
    fresh = small_cnn(num_classes, widths, pool_after, grid, seed=seed)
    fresh.load_state_dict(_load_checked_state(path))
    return fresh.eval(), False
