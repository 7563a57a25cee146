"""Reading files that untrusted code could have made or replaced, without following links or blocking on them.

The grader reads what a sandboxed run wrote (the executed notebook) and what students uploaded. Any component of
such a path may have been swapped for a symbolic link (to a file of the grader's host, or to another student's live
work folder), a FIFO (which would block the grader forever) or a device. Every component is opened here with
``O_NOFOLLOW`` relative to the folder above it, the last one ``O_NONBLOCK``, and only a regular file of at most
``max_bytes`` is read, through the descriptor that was checked (no gap between the check and the read).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from tlhelpers.grading.limits import MAX_EXECUTED_BYTES


class UnsafeFile(OSError):
    """The file is a link, not a regular file, too large, or missing; the message says which, for the feedback."""


def read_regular(root: Path, relative: str | Path = "", max_bytes: int = MAX_EXECUTED_BYTES) -> bytes:
    """The bytes of ``root/relative``, refusing links and special files anywhere below ``root``.

    ``root`` itself is trusted (the grader made it); every component of ``relative`` is not. With ``relative``
    empty, ``root`` is the file and only its last component is checked.
    """
    root = Path(root)
    parts = [p for p in Path(relative).parts if p not in ("", ".")]
    if not parts:
        root, parts = root.parent, [root.name]
    if ".." in parts or any(os.sep in p for p in parts):
        raise UnsafeFile(f"{relative}: '..' is not allowed in a path read from a sandbox")
    nofollow = os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as error:
        raise UnsafeFile(f"{root}: cannot open ({error.strerror})") from None
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=folder)
            except OSError as error:
                raise UnsafeFile(f"{part}: not a plain folder ({error.strerror})") from None
            os.close(folder)
            folder = inner
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NONBLOCK | nofollow, dir_fd=folder)
        except OSError as error:
            reason = "a symbolic link" if error.errno == errno.ELOOP else error.strerror
            raise UnsafeFile(f"{parts[-1]}: cannot be read ({reason})") from None
    finally:
        os.close(folder)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{parts[-1]}: not a regular file")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{parts[-1]}: {info.st_size} bytes, over the limit of {max_bytes}")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:           # it grew while being read
        raise UnsafeFile(f"{parts[-1]}: over the limit of {max_bytes} bytes")
    return data
