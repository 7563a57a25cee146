"""Real data for the course, offline: Fashion-MNIST and scikit-learn's digits, plus class-balanced subsets.

Fashion-MNIST is read from the IDX files of Debian's ``dataset-fashion-mnist`` package, from a folder named by
``$TLHELPERS_FASHION_MNIST_DIR``, or from the course cache after :func:`download_fashion_mnist` (online users).
Every copy is checked against the SHA-256 of the *decompressed* IDX content, which is the same whichever way a
mirror compressed the files.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from tlhelpers.cache import ChecksumError, cache_dir, download

__all__ = [
    "FASHION_CLASSES",
    "FASHION_MNIST_URL",
    "DataNotFoundError",
    "fashion_mnist_dir",
    "load_fashion_mnist",
    "download_fashion_mnist",
    "load_digits",
    "few_shot_subset",
    "train_val_split",
]

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
FASHION_DIR_ENV = "TLHELPERS_FASHION_MNIST_DIR"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
INSTALL_HINT = "sudo apt-get install dataset-fashion-mnist"

# file name -> (SHA-256 of the decompressed IDX bytes, number of decompressed bytes)
_FASHION_FILES: dict[str, tuple[str, int]] = {
    "train-images-idx3-ubyte.gz": ("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", 47040016),
    "train-labels-idx1-ubyte.gz": ("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", 60008),
    "t10k-images-idx3-ubyte.gz": ("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", 7840016),
    "t10k-labels-idx1-ubyte.gz": ("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", 10008),
}
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


class DataNotFoundError(FileNotFoundError):
    """A data set is not on this machine; the message says how to install it."""


def _has_all_files(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _FASHION_FILES)


def fashion_mnist_dir() -> Path:
    """The first folder holding all four Fashion-MNIST files.

    Looks in ``$TLHELPERS_FASHION_MNIST_DIR``, then Debian's ``/usr/share/datasets/fashion-mnist``, then the
    course cache (where :func:`download_fashion_mnist` puts them). Raises :class:`DataNotFoundError` naming the
    install command when none has them.
    """
    candidates: list[Path] = []
    env = os.environ.get(FASHION_DIR_ENV)
    if env:
        candidates.append(Path(env))
    candidates += [DEBIAN_FASHION_DIR, cache_dir("fashion-mnist")]
    for folder in candidates:
        if _has_all_files(folder):
            return folder
    looked = ", ".join(str(c) for c in candidates)
    raise DataNotFoundError(
        f"Fashion-MNIST is not installed (looked in {looked}). Install it with `{INSTALL_HINT}`, or put the four "
        f"*-ubyte.gz files in a folder and set {FASHION_DIR_ENV} to it, or, when online, run "
        "`python -c 'import tlhelpers.data as d; d.download_fashion_mnist()'`."
    )


def _read_idx(raw: bytes, expected_ndim: int, source: Path) -> np.ndarray:
    """Parse IDX bytes (big-endian header: 0, 0, type 0x08=uint8, ndim; then the dimension sizes)."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != expected_ndim:
        raise ValueError(f"{source} is not an IDX file of uint8 with {expected_ndim} dimension(s)")
    header = 4 + 4 * expected_ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_ndim))
    if len(raw) != header + int(np.prod(shape)):
        raise ValueError(f"{source} is truncated: header says {shape}, file has {len(raw) - header} values")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load_fashion_mnist(split: str = "train", folder: str | os.PathLike[str] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Load Fashion-MNIST images ``(n, 28, 28)`` uint8 and labels ``(n,)`` uint8.

    ``split`` is ``"train"`` (60,000 images) or ``"test"`` (10,000). Class names are :data:`FASHION_CLASSES`.
    """
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"unknown split {split!r}: use 'train' or 'test'")
    root = Path(folder) if folder is not None else fashion_mnist_dir()
    prefix = _SPLIT_PREFIX[split]
    images_path = root / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = root / f"{prefix}-labels-idx1-ubyte.gz"
    for path in (images_path, labels_path):
        if not path.is_file():
            raise DataNotFoundError(f"{path} is missing. Install Fashion-MNIST with `{INSTALL_HINT}`.")
    with gzip.open(images_path, "rb") as handle:
        images = _read_idx(handle.read(), 3, images_path)
    with gzip.open(labels_path, "rb") as handle:
        labels = _read_idx(handle.read(), 1, labels_path)
    if len(images) != len(labels):
        raise ValueError(f"{images_path} has {len(images)} images but {labels_path} has {len(labels)} labels")
    return images, labels


def _verify_idx_gz(path: Path, name: str) -> None:
    expected_sha, expected_size = _FASHION_FILES[name]
    digest = hashlib.sha256()
    size = 0
    with gzip.open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    if size != expected_size or digest.hexdigest() != expected_sha:
        raise ChecksumError(
            f"{name} downloaded but its content (SHA-256 {digest.hexdigest()}, {size} bytes) is not "
            "Fashion-MNIST's; nothing was saved. Check the URL or use the Debian package: " + INSTALL_HINT
        )


def _check_download(path: Path, name: str) -> None:
    try:
        _verify_idx_gz(path, name)
    except (OSError, EOFError) as error:  # not gzip at all, or truncated
        raise ChecksumError(f"{name} downloaded but is not a valid gzip file ({error}); nothing was saved") from error


def download_fashion_mnist(base_url: str = FASHION_MNIST_URL, dest: str | os.PathLike[str] | None = None,
                           names: Iterable[str] | None = None) -> Path:
    """Download the four Fashion-MNIST files (for online users), verify them, and return their folder.

    Each file is downloaded to a temporary name, checked against the SHA-256 of its decompressed content,
    and only then renamed into place, so an interrupted or corrupt download never leaves a file that loads.
    Files already present and valid are kept.
    """
    folder = Path(dest) if dest is not None else cache_dir("fashion-mnist")
    folder.mkdir(parents=True, exist_ok=True)
    for name in names or _FASHION_FILES:
        if name not in _FASHION_FILES:
            raise ValueError(f"unknown Fashion-MNIST file {name!r}")
        target = folder / name
        if target.is_file():
            try:
                _verify_idx_gz(target, name)
                continue
            except (ChecksumError, OSError, EOFError):
                target.unlink()
        download(base_url.rstrip("/") + "/" + name, target, lambda path: _check_download(path, name))
    return folder


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's handwritten digits: images ``(1797, 8, 8)`` float64 in 0..16 and labels ``(1797,)``."""
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    return bunch.images, bunch.target


def few_shot_subset(y: np.ndarray, n_per_class: int, random_state: int | None = None,
                    classes: Iterable[int] | None = None) -> np.ndarray:
    """Indices of a class-balanced subset with ``n_per_class`` examples of each class.

    ``classes`` restricts the subset to some labels (default: every label in ``y``). The indices are sorted
    by class then shuffled once with ``random_state`` so that batches mix classes.
    """
    labels = np.asarray(y)
    if labels.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {labels.shape}")
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    rng = np.random.default_rng(random_state)
    wanted = np.unique(labels) if classes is None else np.asarray(list(classes))
    picked = []
    for label in wanted:
        members = np.flatnonzero(labels == label)
        if len(members) < n_per_class:
            raise ValueError(
                f"class {label} has only {len(members)} examples, fewer than n_per_class={n_per_class}: "
                "ask for fewer per class"
            )
        picked.append(rng.choice(members, size=n_per_class, replace=False))
    indices = np.concatenate(picked)
    rng.shuffle(indices)
    return indices


def train_val_split(X: np.ndarray, y: np.ndarray, val_fraction: float = 0.2, random_state: int | None = None,
                    stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split into ``X_train, X_val, y_train, y_val`` (stratified by label by default)."""
    from sklearn.model_selection import train_test_split

    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    return train_test_split(X, y, test_size=val_fraction, random_state=random_state,
                            stratify=np.asarray(y) if stratify else None)
