"""In-memory stand-ins for kafka-python's ``KafkaProducer`` and ``KafkaConsumer``: no broker needed.

The producer's ``send`` returns a future that has already settled, so the callbacks and errbacks a caller adds
run at once. Every ``fail_every``-th send fails with ``TimeoutError`` (0: none fails); everything
sent is kept in ``sent`` as ``(topic, value, key)``.
"""

from __future__ import annotations

import time
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


class FakeKafkaConsumer:
    """A stand-in for kafka-python's ``KafkaConsumer`` in a group: it is assigned ``assigned`` (none:
    a consumer stuck joining), its polls wait ``timeout_ms`` and answer nothing, as a real one's do
    on an idle topic, and the topic has ``partitions``."""

    def __init__(self, assigned: set[Any] | None = None, partitions: set[int] | None = None) -> None:
        self.assigned = assigned or set()
        self.partitions = {0, 1} if partitions is None else partitions
        self.polls = 0
        self.closed = False

    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[Any, list[Any]]:
        self.polls += 1
        time.sleep(timeout_ms / 1000)
        return {}

    def assignment(self) -> set[Any]:
        return self.assigned

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None:
        self.closed = True
