"""The local live channel: the publisher POSTs each standings message to /internal/live and the API
fans it out, in-process, to the Server-Sent-Events subscribers of that race.

On AWS the publisher sends the same message to the IoT Core topic ``alleycat/races/<raceId>/standings``
instead, and clients subscribe there (docs/api.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

IOT_TOPIC = "alleycat/races/{race_id}/standings"
QUEUE_SIZE = 32  # messages a slow subscriber may lag behind before the oldest are dropped


class LiveHub:
    """Subscribers per race. Used only from the event loop's thread."""

    def __init__(self) -> None:
        self._subscribers: dict[int, set[asyncio.Queue[dict[str, Any]]]] = {}

    def subscribe(self, race_id: int) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(race_id, set()).add(queue)
        return queue

    def unsubscribe(self, race_id: int, queue: asyncio.Queue[dict[str, Any]]) -> None:
        queues = self._subscribers.get(race_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._subscribers[race_id]

    def publish(self, race_id: int, message: dict[str, Any]) -> int:
        """Queue ``message`` for every subscriber of ``race_id``; returns how many there are."""
        queues = self._subscribers.get(race_id, set())
        for queue in queues:
            if queue.full():  # a slow reader gets the newest standings, not a growing backlog
                queue.get_nowait()
            queue.put_nowait(message)
        return len(queues)
