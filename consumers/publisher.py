"""Publisher: DynamoDB Streams of the table -> live standings messages for each LIVE change.

A LIVE item is one race ``(raceId, classId)``; its message goes to that race's channel
(``consumers.publish.topic(raceId, classId)`` on IoT Core). Message: ``{type: "standings", raceId,
classId, windowEnd, standings: [{rank, racerId, name, totalOutput, avgOutput, maxOutput, seconds,
finished}] (top N), changed: [racerIds]}``, sent through ``consumers.publish``. Live updates are
best-effort; a failure to publish to IoT Core is reported as a batch item failure and retried by
the mapping (MaximumRetryAttempts 2, records older than 60 s dropped).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from alleycat.domain.scoring import RaceScores
from consumers import dynamo
from consumers.publish import live_publisher

log = logging.getLogger("alleycat.consumers.publisher")

DEFAULT_TOP = 1000


def standings_message(race: RaceScores, window_end: str | None, changed: list[int], top: int) -> dict[str, Any]:
    return {
        "type": "standings",
        "raceId": race.race_id,
        "classId": race.class_id,
        "windowEnd": window_end,
        "standings": race.standing_rows(top),
        "changed": sorted(changed),
    }


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    top = int(os.environ.get("ALLEYCAT_LIVE_TOP", DEFAULT_TOP))
    for record in event.get("Records") or []:
        if not dynamo.is_live(record):
            continue
        new_item = dynamo.image(record["dynamodb"].get("NewImage"))
        if new_item is None:
            continue
        old_item = dynamo.image(record["dynamodb"].get("OldImage"))
        new = dynamo.race_from_item(new_item)
        changed = dynamo.changed_racers(dynamo.race_from_item(old_item).race if old_item else None, new.race)
        message = standings_message(new.race, new.window_end, changed, top)
        try:
            live_publisher().publish(new.race.key, message)
        except Exception:
            log.exception("publish failed", extra={"raceId": new.race.race_id, "classId": new.race.class_id})
            return {"batchItemFailures": [{"itemIdentifier": record["dynamodb"]["SequenceNumber"]}]}
    return {"batchItemFailures": []}
