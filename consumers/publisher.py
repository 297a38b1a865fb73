"""Publisher: DynamoDB Streams of the table -> live standings messages for each LIVE change.

A LIVE item is one race ``(raceId, classId)``; its message goes to that race's channel
(``alleycat.adapters.live_channel``: the IoT Core topic ``alleycat.domain.keys.live_topic(raceId,
classId)``, or the local API). Message: ``{type: "standings", raceId, classId, windowEnd,
standings: [{rank, racerId, name, totalOutput, avgOutput, maxOutput, seconds, finished, lastSecond,
currentOutput, rolling5Output, rolling60Output, peak5Output, peak60Output, gapOutput, previousRank}]
(top N; ``RaceScores.standing_rows``, the rider metrics of docs/design.md), changed: [racerIds]}``.
Live updates are best-effort; a failure to publish is reported as a batch item failure and ends the
batch (``consumers.live_changes``); the mapping retries it (MaximumRetryAttempts 2, records older
than 60 s dropped).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from alleycat.adapters.live_channel import LivePublisher, live_publisher_for
from alleycat.domain.scoring import RaceScores
from alleycat.settings import Settings
from consumers.live_changes import LiveChange, process_live_changes
from consumers.observability import Handled, Observability

OBSERVABILITY = Observability("publisher")

DEFAULT_TOP = Settings.live_top


@dataclass(frozen=True)
class Dependencies:
    publisher: LivePublisher
    top: int = DEFAULT_TOP  # standings rows per message


@cache
def dependencies() -> Dependencies:
    settings = Settings.from_env()
    return Dependencies(live_publisher_for(settings), settings.live_top)


def standings_message(
    race: RaceScores, window_end: str | None, changed: list[int], top: int, previous: RaceScores | None = None
) -> dict[str, Any]:
    """The message of a race; ``previous``, the race before the change (each row's ``previousRank``)."""
    return {
        "type": "standings",
        "raceId": race.race_id,
        "classId": race.class_id,
        "windowEnd": window_end,
        "standings": race.standing_rows(top, previous),
        "changed": sorted(changed),
    }


def publish_change(deps: Dependencies, change: LiveChange) -> bool:
    """Send one LIVE change's standings. Returns False if the channel dropped it (best-effort)."""
    new, old = change.new, change.old
    message = standings_message(new.race, new.window_end, change.changed, deps.top, old.race if old else None)
    return deps.publisher.publish(new.race.key, message)


def handle(event: dict[str, Any], deps: Dependencies, context: Any = None) -> Handled:
    """The LIVE changes of a DynamoDB Streams event, published in order, up to the first failure."""
    processed = process_live_changes(
        event, lambda change: publish_change(deps, change), logging.getLogger(OBSERVABILITY.service), context
    )
    counts = {
        "Published": sum(processed.outcomes),
        "Dropped": len(processed.outcomes) - sum(processed.outcomes),
        "PublishFailures": processed.failed,
    }
    return Handled(processed.response, counts)


handler = OBSERVABILITY.entry(lambda event, context: handle(event, dependencies(), context))
