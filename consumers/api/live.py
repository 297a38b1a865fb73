"""The live standings of a race: its snapshot (``live_snapshot``: ``GET .../live`` and the first event
of the stream), and the local live channel: the publisher POSTs each change message to
/internal/live and the API fans it out, in-process, to the Server-Sent-Events subscribers of that race.

A race is ``(raceId, classId)`` (all six classes race in every slot), so subscribers are kept per
``RaceKey``: a class-3 stream never receives the standings of class 4 in the same slot.

On AWS the publisher sends the same message to the IoT Core topic of the race instead,
``alleycat/races/<raceId>/<classId>/standings`` (``alleycat.domain.keys.live_topic``), and clients subscribe
there (docs/api.md).
"""

from __future__ import annotations

import asyncio
from typing import Any

from alleycat.adapters.race_items import race_from_item
from alleycat.domain import keys
from alleycat.domain.events import RaceKey
from alleycat.domain.keys import live_topic_filter
from consumers.api.models import LiveStanding, LiveStandings
from consumers.api.store import Store, plain

IOT_TOPIC_HINT = live_topic_filter("<raceId>", "<classId>")  # how clients name the topic of a race
QUEUE_SIZE = 32  # messages a slow subscriber may lag behind before the oldest are dropped


def live_snapshot(store: Store, race_id: int, class_id: int) -> LiveStandings | None:
    """The race's LIVE item (GetItem `RACE#r#c / LIVE`) as standings, ranked by the domain's rule,
    at its ``version`` (the change messages continue from it); None: the race is not running."""
    item = store.get(keys.race_pk(race_id, class_id), keys.LIVE_SK)
    if item is None:
        return None
    live = race_from_item(plain(item))
    return LiveStandings(
        race_id=race_id,
        class_id=class_id,
        window_end=live.window_end,
        version=live.version,
        updated_at=plain(item.get("updatedAt")),
        standings=[LiveStanding.model_validate(row) for row in live.race.standing_rows(len(live.race.racers))],
    )


class HubFull(Exception):
    """The hub already serves its maximum of subscribers."""


class LiveHub:
    """Subscribers per race ``(raceId, classId)``, at most ``max_subscribers`` in all (each is an open
    connection and a queue). Used only from the event loop's thread."""

    def __init__(self, max_subscribers: int) -> None:
        self.max_subscribers = max_subscribers
        self._subscribers: dict[RaceKey, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._count = 0

    def subscribe(self, race: RaceKey) -> asyncio.Queue[dict[str, Any]]:
        """A new subscriber's queue; raises ``HubFull`` beyond ``max_subscribers``."""
        if self._count >= self.max_subscribers:
            raise HubFull(self.max_subscribers)
        self._count += 1
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers.setdefault(race, set()).add(queue)
        return queue

    def unsubscribe(self, race: RaceKey, queue: asyncio.Queue[dict[str, Any]]) -> None:
        queues = self._subscribers.get(race)
        if queues is not None and queue in queues:
            self._count -= 1
            queues.discard(queue)
            if not queues:
                del self._subscribers[race]

    def publish(self, race: RaceKey, message: dict[str, Any]) -> int:
        """Queue ``message`` for every subscriber of ``race``; returns how many there are."""
        queues = self._subscribers.get(race, set())
        for queue in queues:
            if queue.full():  # a slow reader gets the newest standings, not a growing backlog
                queue.get_nowait()
            queue.put_nowait(message)
        return len(queues)
