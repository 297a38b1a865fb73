"""The delivery stream's buffer: records read and not yet delivered, full by size, due by age.

Firehose's buffering hints: deliver when ``max_bytes`` of data are buffered or the oldest record
has waited ``max_age_s``, whichever comes first.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from infra.local.firehose.records import SourceRecord


class Buffer:
    def __init__(self, max_bytes: int, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._clock = clock
        self._records: list[SourceRecord] = []
        self._size = 0
        self._since = 0.0

    def __len__(self) -> int:
        return len(self._records)

    def add(self, record: SourceRecord) -> None:
        if not self._records:
            self._since = self._clock()
        self._records.append(record)
        self._size += len(record.data)

    def full(self) -> bool:
        return self._size >= self.max_bytes

    def due(self) -> bool:
        return bool(self._records) and self._clock() - self._since >= self.max_age_s

    def oldest_arrival_ms(self) -> int | None:
        return min((r.arrival_ms for r in self._records), default=None)

    def records(self) -> list[SourceRecord]:
        """Everything buffered, in read order (it stays buffered until ``clear``: until delivered)."""
        return list(self._records)

    def clear(self) -> None:
        self._records, self._size = [], 0
