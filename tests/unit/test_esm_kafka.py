"""The local Kafka event source mapping's event shape and the Aggregator on it (no broker: the
records are built as the mapping builds them from what it consumed, the race table is in memory)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEvent

from alleycat.adapters.dead_letter import LocalDeadLetter
from alleycat.domain.events import RaceKey, Telemetry
from alleycat.domain.scoring import score_races
from alleycat.resources import KAFKA_AGGREGATOR
from alleycat.settings import Settings
from alleycat.testing.kafka import FakeKafkaConsumer
from alleycat.testing.race_table import InMemoryRaceTable
from consumers import aggregator
from infra.local.esm.delivery import deliver
from infra.local.esm.function import Function
from infra.local.esm.kafka import KafkaFailureDestination, KafkaMappingRunner, item_identifier, policy_of
from infra.local.esm.shapes import StreamRecord, kafka_event, kafka_record
from tests.unit.test_realtime_handlers import sample, telemetry


def consumed(topic: str, partition: int, offset: int, value: bytes | None, key: bytes | None = b"5-2") -> StreamRecord:
    return kafka_record(
        topic=topic, partition=partition, offset=offset, timestamp_ms=1_700_000_000_123 + offset, timestamp_type=0,
        key=key, value=value, headers=[("source", b"sim")],
    )  # fmt: skip


def test_event_has_lambdas_self_managed_kafka_shape() -> None:
    records = [
        consumed("t", 1, 7, b"one"),
        consumed("t", 0, 3, b"two", key=None),
        consumed("t", 1, 8, None),  # a tombstone
    ]
    event = kafka_event(records, "127.0.0.1:9092")
    want = sample("self-managed-kafka.json")
    assert set(event) == set(want)
    assert event["eventSource"] == "SelfManagedKafka" and event["bootstrapServers"] == "127.0.0.1:9092"
    assert list(event["records"]) == ["t-1", "t-0"]  # grouped by topic-partition, in arrival order
    assert [r["offset"] for r in event["records"]["t-1"]] == [7, 8]
    first = event["records"]["t-1"][0]
    assert set(first) == set(want["records"]["mytopic-0"][0])
    assert first["timestampType"] == "CREATE_TIME" and first["timestamp"] == 1_700_000_000_130
    assert first["headers"] == [{"source": list(b"sim")}]
    assert "key" not in event["records"]["t-0"][0] and event["records"]["t-1"][1]["value"] is None
    # Powertools reads it as Lambda's event (what the handler does)
    parsed = list(KafkaEvent(json.loads(json.dumps(event))).records)
    assert [(r.topic, r.partition, r.offset) for r in parsed] == [("t", 1, 7), ("t", 1, 8), ("t", 0, 3)]
    assert parsed[0].decoded_value == b"one" and parsed[0].decoded_key == b"5-2"
    assert parsed[0].decoded_headers["source"] == b"sim"


def _batch(events: Sequence[Telemetry | bytes | None], start: int = 0) -> list[StreamRecord]:
    out = []
    for i, ev in enumerate(events):
        value = ev.to_json() if isinstance(ev, Telemetry) else ev
        out.append(consumed("alleycat-telemetry", i % 2, start + i, value))
    return out


def test_aggregator_on_kafka_batches_equals_the_reference_and_ignores_redelivery(tmp_path: Path) -> None:
    table = InMemoryRaceTable()
    deps = aggregator.Dependencies(table, LocalDeadLetter(tmp_path / "dead-letter"))
    good = [telemetry(r, s, cadence=60.0 + r + s, cls=2) for r in (1, 2, 3) for s in range(1, 6)]
    first = _batch([*good[:8], good[3], b"{not json", None])  # a duplicate, a malformed record, a tombstone
    second = _batch(good[8:], start=len(first))

    def invoke(records: list[StreamRecord]) -> dict[str, Any]:
        return dict(aggregator.route(json.loads(json.dumps(kafka_event(records, "k:9092"))), deps).response)

    assert invoke(first) == {"batchItemFailures": []}
    assert invoke(second) == {"batchItemFailures": []}
    live = table.read_live(5, 2)
    assert live is not None
    expected = score_races(good)[RaceKey(5, 2)]
    assert {k: v.to_compact() for k, v in live.race.racers.items()} == {
        k: v.to_compact() for k, v in expected.racers.items()
    }
    version = live.version
    invoke(first)  # redelivered after a crash before the commit: nothing changes, nothing is written
    invoke(second)
    again = table.read_live(5, 2)
    assert again is not None and again.version == version
    rejected = [json.loads(line) for f in (tmp_path / "dead-letter").rglob("*") if f.is_file() for line in
                f.read_text().splitlines()]  # fmt: skip
    reasons = sorted(r["reason"] for r in rejected)
    # named by the records' places, so the redelivered batch's dead letter replaces the first one
    assert reasons == ["bad_base64", "bad_json"]
    assert {r["event_id"] for r in rejected} == {"alleycat-telemetry-1@9", "alleycat-telemetry-0@10"}
    assert {r["partition_key"] for r in rejected} == {"5-2"}


def test_given_up_batches_reach_the_destination_with_kafka_batch_info(tmp_path: Path) -> None:
    calls = []

    def failing(batch: Any) -> Any:
        calls.append(len(batch))
        raise RuntimeError("boom")

    destination = KafkaFailureDestination(tmp_path, "Aggregator", "us-east-1", "127.0.0.1:9092")
    policy = policy_of(KAFKA_AGGREGATOR)
    policy = type(policy)(1, -1, False, True, backoff_base_s=0.001, backoff_max_s=0.001)
    records = [consumed("t", 0, 4, b"a"), consumed("t", 0, 5, b"b"), consumed("t", 2, 9, b"c")]
    assert deliver(records, failing, policy, destination, threading.Event())
    assert calls == [3, 3]  # the first attempt and one retry
    (doc,) = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert doc["requestContext"]["approximateInvokeCount"] == 2
    info = doc["KafkaBatchInfo"]
    assert info["batchSize"] == 3 and info["bootstrapServers"] == "127.0.0.1:9092"
    assert (
        info["recordsInfo"]["t-0"]["firstRecordOffset"] == "4" and info["recordsInfo"]["t-0"]["lastRecordOffset"] == "5"
    )
    assert base64.b64decode(doc["payload"]["records"]["t-2"][0]["value"]) == b"c"


def test_partial_batch_answers_name_kafka_records_by_partition_and_offset() -> None:
    item = {"itemIdentifier": {"partition": "alleycat-telemetry-3", "offset": 42}}
    assert item_identifier(item) == {"itemIdentifier": "alleycat-telemetry-3@42"}
    assert policy_of(KAFKA_AGGREGATOR).maximum_retry_attempts == KAFKA_AGGREGATOR.maximum_retry_attempts


def _run_mapping(home: Path, consumers: Any, until: Any, limit_s: float) -> None:
    stop = threading.Event()
    settings = Settings(home=home)
    function = Function(KAFKA_AGGREGATOR, settings.region, handler=lambda event, context: None)
    runner = KafkaMappingRunner(
        KAFKA_AGGREGATOR, settings, stop, function=function, consumers=consumers, unassigned_limit_s=limit_s
    )
    runner.start()
    deadline = time.monotonic() + 10
    while not until() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(10)
    assert not runner.is_alive()


def test_a_consumer_that_never_gets_a_partition_is_replaced(tmp_path: Path) -> None:
    """kafka-python can stay in a group join that neither completes nor fails (seen with the broker
    killed -9 mid-rebalance): the mapping closes such a consumer and takes a new one."""
    wedged, healthy = FakeKafkaConsumer(), FakeKafkaConsumer(assigned={("t", 0)})
    made = iter([wedged, healthy])
    _run_mapping(tmp_path, lambda: next(made), until=lambda: healthy.polls >= 3, limit_s=0.3)
    assert wedged.closed and wedged.polls >= 2
    assert healthy.polls >= 3 and healthy.closed  # closed by the stop, not replaced


def test_a_consumer_waiting_for_a_topic_without_partitions_is_kept(tmp_path: Path) -> None:
    waiting = FakeKafkaConsumer(partitions=set())
    made: list[FakeKafkaConsumer] = []

    def consumers() -> FakeKafkaConsumer:
        made.append(waiting)
        return waiting

    _run_mapping(tmp_path, consumers, until=lambda: waiting.polls >= 10, limit_s=0.05)
    assert made == [waiting] and waiting.polls >= 10
