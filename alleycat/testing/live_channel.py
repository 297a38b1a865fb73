"""A live channel that keeps what it was sent: ``LivePublisher`` for tests of the Publisher.

``fail_next(n)``: the next ``n`` publishes raise, as IoT Core does when it refuses a message.
"""

from __future__ import annotations

from typing import Any

from alleycat.domain.events import RaceKey


class PublishRefused(Exception):
    """The injected failure of a publish."""


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[RaceKey, dict[str, Any]]] = []
        self._failures = 0

    def fail_next(self, n: int = 1) -> None:
        self._failures += n

    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool:
        if self._failures:
            self._failures -= 1
            raise PublishRefused(f"race {race}: refused")
        self.sent.append((race, message))
        return True
