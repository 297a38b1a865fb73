"""An in-memory stand-in for kafka-python's ``KafkaProducer``: no broker needed.

``send`` returns a future that has already settled, so the callbacks and errbacks a caller adds
run at once. Every ``fail_every``-th send fails with ``TimeoutError`` (0: none fails); everything
sent is kept in ``sent`` as ``(topic, value, key)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class FakeFuture:
    """A settled ``FutureRecordMetadata``: succeeded with some metadata, or failed with ``error``."""

    def __init__(self, error: Exception | None, metadata: dict[str, Any]) -> None:
        self.error = error
        self.metadata = metadata

    def add_callback(self, f: Callable[..., Any], *args: Any) -> FakeFuture:
        if self.error is None:
            f(*args, self.metadata)
        return self

    def add_errback(self, f: Callable[..., Any], *args: Any) -> FakeFuture:
        if self.error is not None:
            f(*args, self.error)
        return self


class FakeKafkaProducer:
    def __init__(self, fail_every: int = 0) -> None:
        self.fail_every = fail_every
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.flushed = self.closed = 0

    def send(self, topic: str, value: bytes, key: bytes) -> FakeFuture:
        self.sent.append((topic, value, key))
        failing = self.fail_every > 0 and len(self.sent) % self.fail_every == 0
        error = TimeoutError("delivery timed out") if failing else None
        return FakeFuture(error, {"topic": topic, "offset": len(self.sent) - 1})

    def flush(self) -> None:
        self.flushed += 1

    def close(self) -> None:
        self.closed += 1
