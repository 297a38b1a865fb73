"""DynamoDB on a bad day: throttled and 5xx writes of the Aggregator's final invoke are retried by
the event source mapping until they go through, and the LIVE items then equal the reference
computation: nothing lost, nothing counted twice (``alleycat.testing.race_table.FailingWrites``)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamEvent

from alleycat.adapters.dead_letter import LocalDeadLetter
from alleycat.domain.events import Telemetry
from alleycat.domain.scoring import score_races
from alleycat.testing.race_table import FailingWrites, InMemoryRaceTable
from consumers import aggregator
from infra.local.esm.delivery import Policy
from infra.local.esm.invokers import WindowInvoker
from infra.local.esm.shapes import StreamRecord, kinesis_records

T0 = 1_900_000_000.0  # a multiple of 5: one tumbling window
RACE = 6_333_000


def _events() -> list[Telemetry]:
    return [
        Telemetry(str(uuid.UUID(int=r * 100 + s)), "final" if s == 4 else "update", int(T0 * 1000) + s * 1000, s,
                  RACE, f"racer {r}", 7_000 + r, 3, 60.0 + r + s / 10, 40.0)
        for r in range(3)
        for s in range(1, 5)
    ]  # fmt: skip


def _record(n: int, ev: Telemetry) -> StreamRecord:
    raw = {
        "ApproximateArrivalTimestamp": T0 + n * 0.1,
        "Data": ev.to_json(),
        "PartitionKey": "k",
        "SequenceNumber": str(n + 1),
    }
    (record,) = kinesis_records(
        [raw],
        shard_id="shardId-000000000000",
        stream_arn="arn:aws:kinesis:us-east-1:000000000000:stream/s",
        region="us-east-1",
        function_name="Aggregator",
    )
    return record


def test_throttled_and_failed_writes_are_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    events = _events()
    records = [_record(n, ev) for n, ev in enumerate(events)]
    store = InMemoryRaceTable()
    table = FailingWrites(store)
    table.throttle(2)
    table.server_errors(2)
    deps = aggregator.Dependencies(table, LocalDeadLetter(tmp_path))
    discarded: list[Any] = []
    checkpoints: list[str] = []

    def invoke(event: dict[str, Any]) -> Any:
        return aggregator.handle(KinesisStreamEvent(event), deps).response

    invoker = WindowInvoker(
        invoke, 100, 5, "shardId-000000000000", "arn", Policy(3, -1, True, True, 0.0, 0.0),
        lambda *a: discarded.append(a), checkpoints.append, threading.Event(),
    )  # fmt: skip
    assert invoker.process(records)
    assert invoker.close()  # the final invoke: its writes fail four times, then go through

    assert table.failed == 4 and discarded == [] and checkpoints == [str(len(records))]
    live = store.read_live(RACE, 3)
    assert live is not None
    want = score_races(events)[(RACE, 3)].racers  # type: ignore[index]
    got = live.race.racers
    assert {r: (s.total_milli, s.seconds, s.finished) for r, s in got.items()} == {
        r: (s.total_milli, s.seconds, s.finished) for r, s in want.items()
    }
