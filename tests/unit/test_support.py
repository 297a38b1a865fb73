"""The shared helpers: atomic writes and the settable clock."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from alleycat.support.clock import SettableClock
from alleycat.support.files import atomic_write, atomic_write_bytes, atomic_write_text


def test_atomic_write_creates_parents_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.json"
    atomic_write_text(target, "one")
    atomic_write_bytes(target, b"two", fsync=True)
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["c.json"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "c.json"
    target.write_text("old")

    def broken(fh: BinaryIO) -> None:
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]


def test_settable_clock() -> None:
    clock = SettableClock(1_000, step_ms=5)
    assert [clock.now_ms(), clock.now_ms()] == [1_000, 1_005]
    clock.advance(100)
    assert clock.now_ms() == 1_110
