"""Files that are written atomically and checked by SHA-256.

Everything the course caches (downloaded data, converted weights, extracted features, trained source models)
goes through :func:`atomic_write` so that a killed process never leaves a half-written file behind that a later
run would load, and through :func:`sha256_file` when a checksum is known. What the course computes itself is
kept as a *checked file*: the payload plus a ``.sha256`` sidecar, both written atomically, the pair verified on
every read (:func:`write_checked`, :func:`read_checked`; arrays: :func:`save_checked_array`,
:func:`load_checked_array`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator, TypeVar

import numpy as np

__all__ = [
    "cache_dir",
    "atomic_write",
    "download",
    "sha256_file",
    "verify_sha256",
    "ChecksumError",
    "stable_key",
    "array_fingerprint",
    "write_checked",
    "read_checked",
    "load_checked_array",
    "save_checked_array",
]

T = TypeVar("T")

_CHUNK = 1 << 20


class ChecksumError(RuntimeError):
    """A file's SHA-256 is not the one expected."""


def cache_dir(*parts: str) -> Path:
    """Return (and create) a folder in the course cache.

    The cache root is ``$TLHELPERS_CACHE`` if set, else ``$XDG_CACHE_HOME/tlhelpers``, else
    ``~/.cache/tlhelpers``.
    """
    root = os.environ.get("TLHELPERS_CACHE")
    if root:
        base = Path(root)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".cache") / "tlhelpers"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path``; on success rename it over ``path``.

    The rename is atomic on POSIX file systems, so readers see either the old file or the complete new one.
    If the block raises (or the process is killed), ``path`` is untouched and the temporary file is removed
    (or, after a kill, left with a ``.tmp`` suffix that no loader reads).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write supports mode 'wb' or 'w', not {mode!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        with open(tmp_name, mode) as handle:  # so that handle.name is the temporary file's path
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def download(url: str, target: str | os.PathLike[str], check: Callable[[Path], None], timeout: float = 60) -> Path:
    """Stream ``url`` to ``target``, which appears only once the download is complete and ``check`` accepts it.

    ``check`` gets the path of the downloaded (still temporary) file and raises to refuse it, e.g. with
    :class:`ChecksumError`; then nothing is saved and the error propagates. ``file://`` URLs work too.
    """
    from urllib.request import urlopen  # only here: ~20 ms to import, and most runs never download

    with atomic_write(target) as out, urlopen(url, timeout=timeout) as response:  # noqa: S310 (caller's URL)
        shutil.copyfileobj(response, out, _CHUNK)
        out.flush()
        check(Path(out.name))  # raising inside atomic_write removes the temporary file
    return Path(target)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: str | os.PathLike[str], expected: str) -> None:
    """Raise :class:`ChecksumError` unless ``path`` has SHA-256 ``expected``."""
    actual = sha256_file(path)
    if actual != expected.lower():
        raise ChecksumError(
            f"{path} has SHA-256 {actual}, expected {expected}. The file is corrupt or not the one expected: "
            "delete it and run again."
        )


def stable_key(*parts: Any) -> str:
    """A short hex key for cache file names, stable across runs and machines.

    ``parts`` are serialised as sorted JSON (use plain types: str, int, float, lists, dicts).
    """
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def array_fingerprint(arr: np.ndarray) -> str:
    """Hex SHA-256 of an array's dtype, shape and bytes (a cache key part for inputs)."""
    digest = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    digest.update(memoryview(np.ascontiguousarray(arr)).cast("B"))
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_checked(path: str | os.PathLike[str], write: Callable[[IO[bytes]], Any]) -> Path:
    """Write a checked file: ``write(handle)`` fills ``path`` atomically, then its SHA-256 goes to ``<path>.sha256``.

    The sidecar is written last, so a process killed in between leaves a file that :func:`read_checked` refuses.
    """
    target = Path(path)
    with atomic_write(target) as handle:
        write(handle)
    with atomic_write(_sidecar(target), "w") as handle:
        handle.write(sha256_file(target))
    return target


def read_checked(path: str | os.PathLike[str], read: Callable[[Path], T]) -> T | None:
    """``read(path)`` if ``path`` and its ``.sha256`` sidecar agree; else None, and a mismatched pair is removed."""
    target = Path(path)
    check = _sidecar(target)
    if not (target.is_file() and check.is_file()):
        return None
    if sha256_file(target) != check.read_text().strip():
        target.unlink(missing_ok=True)
        check.unlink(missing_ok=True)
        return None
    return read(target)


def load_checked_array(path: Path) -> np.ndarray | None:
    """The ``.npy`` array at ``path`` if its ``.sha256`` file agrees, else None (a bad pair is removed)."""
    return read_checked(path, lambda p: np.load(p, allow_pickle=False))


def save_checked_array(path: Path, arr: np.ndarray) -> None:
    """Save ``arr`` as ``.npy`` at ``path`` atomically, with its SHA-256 in a ``.sha256`` file beside it."""
    write_checked(path, lambda handle: np.save(handle, arr, allow_pickle=False))
