"""FinalResults: DynamoDB Streams of the table -> RESULT items, class BEST items, CLASS race status.

A LIVE item is one race ``(raceId, classId)``. For each change of a LIVE item, the racers who have
finished and whose score is new or changed get their RESULT item (``RACE#r#c``; BatchWriteItem, 25
per call, unprocessed items retried with backoff), then their class BEST (conditional: only if
absent or higher). When every racer of the race has finished, its CLASS race item
(``CLASS#c / RACE#r``) is marked completed with the number of racers. Late points after a racer's
final change LIVE again, so results are rewritten and converge. Every write is idempotent, so a
replayed record is harmless.

A record that fails is reported as a batch item failure (its SequenceNumber); the mapping retries
from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from consumers import dynamo

log = logging.getLogger("alleycat.consumers.final_results")


@dataclass(frozen=True)
class Outcome:
    results: int
    bests: int
    completed: bool  # every racer of the race has finished: its CLASS race item is completed


def process_change(old_item: dict[str, Any] | None, new_item: dict[str, Any]) -> Outcome:
    """Write the results of one LIVE change (plain values, as ``dynamo.image`` returns them)."""
    new = dynamo.race_from_item(new_item)
    old = dynamo.race_from_item(old_item).race if old_item else None
    race = new.race
    finished = [
        race.racers[racer_id] for racer_id in dynamo.changed_racers(old, race) if race.racers[racer_id].finished
    ]
    dynamo.batch_write([dynamo.result_item(race.race_id, score, new.updated_at) for score in finished])
    bests = sum(dynamo.put_best(race.race_id, score, new.updated_at) for score in finished)
    completed = bool(finished) and all(s.finished for s in race.racers.values())
    if completed:
        dynamo.complete_class_race(race.race_id, race.class_id, len(race.racers))
    return Outcome(len(finished), bests, completed)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    for record in event.get("Records") or []:
        if not dynamo.is_live(record) or record.get("eventName") == "REMOVE":
            continue
        sequence_number = record["dynamodb"]["SequenceNumber"]
        try:
            new_item = dynamo.image(record["dynamodb"].get("NewImage"))
            if new_item is None:
                continue
            outcome = process_change(dynamo.image(record["dynamodb"].get("OldImage")), new_item)
        except Exception:
            log.exception("LIVE change failed", extra={"sequenceNumber": sequence_number})
            return {"batchItemFailures": [{"itemIdentifier": sequence_number}]}
        if outcome.results:
            log.info(
                "results written",
                extra={
                    "raceId": int(new_item["raceId"]),
                    "classId": int(new_item["classId"]),
                    "results": outcome.results,
                    "bests": outcome.bests,
                    "completed": outcome.completed,
                },
            )
    return {"batchItemFailures": []}
