"""FinalResults: DynamoDB Streams of the table -> RESULT items, class BEST items, CLASS race status.

A LIVE item is one race ``(raceId, classId)``. For each change of a LIVE item, the racers who have
finished and whose score is new or changed get their RESULT item (``RACE#r#c``; BatchWriteItem, 25
per call, unprocessed items retried with backoff), then their class BEST (conditional: only if
absent or higher). When every racer of the race has finished, every RESULT item of the race is
written with its ``rank`` (the domain's ``rank()``: ranks no longer move, and a racer's history
then reads them with one Query a page), and its CLASS race item (``CLASS#c / RACE#r``) is marked
completed with the number of racers. Late points after a racer's final change LIVE again, so
results (and ranks) are rewritten and converge. Every write is idempotent, so a
replayed record is harmless.

A record that fails is reported as a batch item failure (its SequenceNumber) and ends the batch
(``consumers.live_changes``); the mapping retries from there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from alleycat.adapters.race_items import result_item
from alleycat.adapters.race_table import DynamoRaceTable, RaceTable
from alleycat.domain.scoring import rank
from alleycat.settings import Settings
from consumers.live_changes import LiveChange, process_live_changes
from consumers.observability import Handled, Observability

OBSERVABILITY = Observability("final-results")
log = OBSERVABILITY.logger


@dataclass(frozen=True)
class Dependencies:
    table: RaceTable


@cache
def dependencies() -> Dependencies:
    return Dependencies(DynamoRaceTable.from_settings(Settings.from_env()))


@dataclass(frozen=True)
class Outcome:
    results: int  # RESULT items written (every racer's, ranked, when the race completes)
    bests: int
    completed: bool  # every racer of the race has finished: its CLASS race item is completed


def process_change(table: RaceTable, change: LiveChange) -> Outcome:
    """Write the results of one LIVE change."""
    new = change.new
    race = new.race
    finished = [race.racers[racer_id] for racer_id in change.changed if race.racers[racer_id].finished]
    completed = bool(finished) and all(s.finished for s in race.racers.values())
    if completed:
        ranked = rank(race.racers.values())
        items = [result_item(race.race_id, score, new.updated_at, place) for place, score in enumerate(ranked, 1)]
    else:
        items = [result_item(race.race_id, score, new.updated_at) for score in finished]
    table.write_results(items)
    bests = sum(table.put_best(race.race_id, score, new.updated_at) for score in finished)
    if completed:
        table.complete_class_race(race.race_id, race.class_id, len(race.racers))
    if finished:
        log.info(
            "results written",
            extra={
                "raceId": race.race_id,
                "classId": race.class_id,
                "results": len(items),
                "bests": bests,
                "completed": completed,
            },
        )
    return Outcome(len(items), bests, completed)


def handle(event: dict[str, Any], deps: Dependencies, context: Any = None) -> Handled:
    """The LIVE changes of a DynamoDB Streams event, in order, up to the first failure."""
    processed = process_live_changes(
        event, lambda change: process_change(deps.table, change), logging.getLogger(OBSERVABILITY.service), context
    )
    counts = {
        "LiveChanges": len(processed.outcomes),
        "ResultsWritten": sum(o.results for o in processed.outcomes),
        "BestsWritten": sum(o.bests for o in processed.outcomes),
        "RacesCompleted": sum(o.completed for o in processed.outcomes),
        "FailedChanges": processed.failed,
    }
    return Handled(processed.response, counts)


handler = OBSERVABILITY.entry(lambda event, context: handle(event, dependencies(), context))
