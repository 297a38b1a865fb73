"""The LIVE changes on the table's DynamoDB stream, one record at a time, for FinalResults and the Publisher.

Both functions read the same stream and care about the same records: a change of a LIVE item
(``RACE#r#c / LIVE``) that has a new image. ``process_live_changes`` runs a per-record function
``on_change(change) -> outcome`` over a DynamoDB Streams event with Powertools' batch processor and
answers Lambda's partial batch response.

Stream records are ordered and Lambda resumes from the lowest failed sequence number, so
processing stops at the first failure: it alone is reported (``batchItemFailures``), and the
records after it are left for the retry (processing them now would apply a newer LIVE change
before an older one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)

from alleycat.adapters.race_items import LiveRace, is_live_key, race_from_item
from alleycat.domain.scoring import RaceScores

T = TypeVar("T")


def changed_racers(old: RaceScores | None, new: RaceScores) -> list[int]:
    """Racers whose score differs between two versions of a race (or who are new)."""
    before = old.racers if old is not None else {}
    return [
        racer_id
        for racer_id, score in new.racers.items()
        if racer_id not in before or before[racer_id].to_compact() != score.to_compact()
    ]


@dataclass(frozen=True)
class LiveChange:
    """One change of a LIVE item: the race before (None: a new race) and after."""

    sequence_number: str
    old: LiveRace | None
    new: LiveRace

    @property
    def changed(self) -> list[int]:
        return changed_racers(self.old.race if self.old is not None else None, self.new.race)


def live_change(record: DynamoDBRecord) -> LiveChange | None:
    """The LIVE change a stream record carries, or None (another item, a removal, no new image)."""
    stream = record.dynamodb
    if stream is None or record.event_name is DynamoDBRecordEventName.REMOVE or not is_live_key(stream.keys):
        return None
    if not stream.new_image:
        return None
    old = race_from_item(stream.old_image) if stream.old_image else None
    return LiveChange(stream.sequence_number or "", old, race_from_item(stream.new_image))


class StopAtFirstFailure(BatchProcessor):
    """Powertools' batch processor for an ordered stream: stops at the first failed record."""

    def process(self) -> list[tuple]:
        results = []
        for record in self.records:
            result = self._process_record(record)
            results.append(result)
            if result[0] == "fail":
                break
        return results


@dataclass(frozen=True)
class Processed(Generic[T]):
    """The partial batch response and the outcome of each LIVE change processed."""

    response: dict[str, Any]
    outcomes: list[T]

    @property
    def failed(self) -> int:
        return len(self.response["batchItemFailures"])


def process_live_changes(
    event: dict[str, Any],
    on_change: Callable[[LiveChange], T],
    logger: logging.Logger | None = None,
    context: Any = None,
) -> Processed[T]:
    """Run ``on_change`` over the event's LIVE changes in order; a failure ends the batch there and
    is logged with its traceback on ``logger`` (a service's Powertools logger is
    ``logging.getLogger(service)``). ``event``: Lambda's DynamoDB Streams event."""
    outcomes: list[T] = []

    def record_handler(record: DynamoDBRecord) -> None:
        change = live_change(record)
        if change is not None:
            outcomes.append(on_change(change))

    processor = StopAtFirstFailure(EventType.DynamoDBStreams, raise_on_entire_batch_failure=False, logger=logger)
    response = process_partial_response({"Records": event.get("Records") or []}, record_handler, processor, context)
    return Processed(dict(response), outcomes)
