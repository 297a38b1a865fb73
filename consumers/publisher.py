"""Publisher: DynamoDB Streams of the table -> live standings messages for each LIVE change.

A LIVE item is one race ``(raceId, classId)``; its message goes to that race's channel
(``alleycat.adapters.live_channel``: the IoT Core topic ``alleycat.domain.keys.live_topic(raceId,
classId)``, or the local API). Message: ``{type: "standings", raceId, classId, windowEnd,
standings: [{rank, racerId, name, totalOutput, avgOutput, maxOutput, seconds, finished}] (top N),
changed: [racerIds]}``. Live updates are best-effort; a failure to publish is reported as a batch
item failure and ends the batch (``consumers.live_changes``); the mapping retries it
(MaximumRetryAttempts 2, records older than 60 s dropped).
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


def standings_message(race: RaceScores, window_end: str | None, changed: list[int], top: int) -> dict[str, Any]:
    return {
        "type": "standings",
        "raceId": race.race_id,
        "classId": race.class_id,
        "windowEnd": window_end,
        "standings": race.standing_rows(top),
        "changed": sorted(changed),
    }


def publish_change(deps: Dependencies, change: LiveChange) -> bool:
    """Send one LIVE change's standings. Returns False if the channel dropped it (best-effort)."""
    new = change.new
    return deps.publisher.publish(new.race.key, standings_message(new.race, new.window_end, change.changed, deps.top))


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
