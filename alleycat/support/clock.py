"""Wall-clock time in epoch milliseconds, and a settable clock for tests.

Code that stamps items (``updatedAt``) takes a ``Clock`` so tests can pin time without patching.
"""

from __future__ import annotations

import time
from typing import Protocol


def now_ms() -> int:
    return int(time.time() * 1000)


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    """The machine's clock."""

    def now_ms(self) -> int:
        return now_ms()


class SettableClock:
    """A clock that reads what the test set (and optionally advances on each read)."""

    def __init__(self, start_ms: int = 0, step_ms: int = 0) -> None:
        self.current_ms = start_ms
        self.step_ms = step_ms

    def now_ms(self) -> int:
        value = self.current_ms
        self.current_ms += self.step_ms
        return value

    def advance(self, ms: int) -> None:
        self.current_ms += ms
