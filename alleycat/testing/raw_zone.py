"""The raw zone on a bad day: an object store whose next writes fail, then go through.

Wraps the local Firehose's object store (``infra.local.firehose.objects.LocalObjects``, or any
object with ``put(path, body)``). ``fail(n)`` queues n failed writes: ``OSError`` EIO, what a
failed write to the lake's directory raises (S3's 500 InternalError and 503 SlowDown, after the
SDK's own retries, play the same part on AWS). A failed write writes nothing. ``failed`` counts them.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Protocol


class _Puts(Protocol):
    def put(self, path: Path, body: bytes) -> None: ...


class FailingObjectWrites:
    def __init__(self, inner: _Puts) -> None:
        self.inner = inner
        self.failed = 0
        self._queued = 0

    def fail(self, n: int) -> FailingObjectWrites:
        self._queued += n
        return self

    def put(self, path: Path, body: bytes) -> None:
        if self._queued:
            self._queued -= 1
            self.failed += 1
            raise OSError(errno.EIO, f"injected write failure: {path.name}")
        self.inner.put(path, body)
