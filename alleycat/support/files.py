"""Atomic file writes: readers see the old file or the new one, never a half-written one.

The temporary file is hidden (``.name.<random>.tmp``) in the target's own directory, so the final
``os.replace`` is a rename on one file system, and the lake's readers skip it by its leading dot.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def temporary_sibling(path: Path) -> Path:
    """A hidden, unique name beside ``path`` for a file that will replace it."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def atomic_write(path: Path, write: Callable[[BinaryIO], object], *, fsync: bool = False) -> Path:
    """Write ``path`` through ``write(file)`` and move it into place in one rename.
    Creates missing parent directories; a failed write leaves no temporary file behind. ``fsync``:
    the data and the rename are on disk when this returns (for checkpoints and lake objects)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_sibling(path)
    try:
        with open(temporary, "wb") as fh:
            write(fh)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(temporary, path)
        if fsync:
            _fsync_directory(path.parent)  # the rename itself survives a crash only once its directory is synced
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = False) -> Path:
    return atomic_write(path, lambda fh: fh.write(data), fsync=fsync)


def atomic_write_text(path: Path, text: str, *, fsync: bool = False) -> Path:
    return atomic_write_bytes(path, text.encode(), fsync=fsync)
