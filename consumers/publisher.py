"""Publisher: DynamoDB Streams of the table -> one live ``changes`` message per LIVE change.

A LIVE item is one race ``(raceId, classId)``; its message goes to that race's channel
(``alleycat.adapters.live_channel``: the IoT Core topic ``alleycat.domain.keys.live_topic(raceId,
classId)``, or the local API). The standings go out as a snapshot, then changes
(``alleycat.domain.standings_changes``): a client takes its snapshot from ``GET .../live`` (or the
SSE stream's first event) at some ``version``, then applies each message whose ``baseVersion`` is the
version it holds. Message: ``{type: "changes", raceId, classId, windowEnd, version, baseVersion,
fields, rows, added, removed}``, the rows being ``RaceScores.standing_rows`` (top N, the rider metrics
of docs/design.md). When that would exceed ``MESSAGE_MAX_BYTES`` (IoT Core's payload limit) the
message is ``{type: "resync", raceId, classId, windowEnd, version}``: fetch a snapshot.

Live updates are best-effort; a failure to publish is reported as a batch item failure and ends the
batch (``consumers.live_changes``); the mapping retries it (MaximumRetryAttempts 2, records older
than 60 s dropped). A dropped message is a gap in the versions, which clients see and resync over.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from alleycat.adapters.live_channel import LivePublisher, live_publisher_for
from alleycat.adapters.race_items import LiveRace
from alleycat.domain.standings_changes import standings_changes
from alleycat.settings import Settings
from consumers.live_changes import LiveChange, process_live_changes
from consumers.observability import Handled, Observability

OBSERVABILITY = Observability("publisher")

DEFAULT_TOP = Settings.live_top
MESSAGE_MAX_BYTES = 128 * 1024  # an IoT Core publish's payload limit (the local channel keeps it too)


@dataclass(frozen=True)
class Dependencies:
    publisher: LivePublisher
    top: int = DEFAULT_TOP  # standings rows per race


@cache
def dependencies() -> Dependencies:
    settings = Settings.from_env()
    return Dependencies(live_publisher_for(settings), settings.live_top)


def live_message(new: LiveRace, old: LiveRace | None, top: int, max_bytes: int = MESSAGE_MAX_BYTES) -> dict[str, Any]:
    """The message of one LIVE change, from the version ``old`` (None: the race is new) to ``new``."""
    head = {"raceId": new.race.race_id, "classId": new.race.class_id, "windowEnd": new.window_end}
    before = old.race.standing_rows(top) if old is not None else []
    after = new.race.standing_rows(top, old.race if old is not None else None)
    message = {
        "type": "changes",
        **head,
        "version": new.version,
        "baseVersion": old.version if old is not None else 0,
        **standings_changes(before, after).to_wire(),
    }
    if len(json.dumps(message).encode()) > max_bytes:
        return {"type": "resync", **head, "version": new.version}
    return message


def publish_change(deps: Dependencies, change: LiveChange) -> bool:
    """Send one LIVE change's message. Returns False if the channel dropped it (best-effort)."""
    return deps.publisher.publish(change.new.race.key, live_message(change.new, change.old, deps.top))


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
