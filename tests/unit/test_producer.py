"""The writers: batching, partial-failure retries, dead letters, buffering, the Kafka sink."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from alleycat.testing.kafka import FakeKafkaProducer
from alleycat.testing.kinesis import THROTTLED, FakeKinesis, RandomThrottle
from producers.kafka import KafkaSink
from producers.kinesis import MAX_BATCH_BYTES, KinesisSink, RetryPolicy, batches
from producers.simulator import SimConfig, Simulator
from producers.sinks import DeadLetterFile, Record, partition_key


def records(n: int, size: int = 200) -> list[Record]:
    return [Record(f"{i:08d}".encode().ljust(size, b"x"), f"key-{i % 7}") for i in range(n)]


def fake_kinesis(fail_rate: float = 0.0, errors: list[Exception] | None = None) -> FakeKinesis:
    """Stream "s": each record throttled with probability ``fail_rate`` (seeded), or the queued
    whole-call errors raised first."""
    return FakeKinesis({"s": 1}, throttle=RandomThrottle(fail_rate, seed=1), errors=errors or [])


def delivered(fake: FakeKinesis) -> list[tuple[bytes, str]]:
    return [(r.data, r.partition_key) for r in fake.records("s")]


def sink_for(client: Any, tmp_path: Path, attempts: int = 8, **kwargs: Any) -> tuple[KinesisSink, list[float]]:
    waits: list[float] = []
    sink = KinesisSink(
        "s",
        client,
        DeadLetterFile(tmp_path / "dead-letter"),
        retry=RetryPolicy(max_attempts=attempts),
        rng=random.Random(0),
        sleep=waits.append,
        **kwargs,
    )
    return sink, waits


def dead_letters(tmp_path: Path) -> list[dict[str, Any]]:
    files = list((tmp_path / "dead-letter").glob("producer-*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines()]


def test_batches_respect_record_and_byte_limits_and_keep_order() -> None:
    many = records(1_234)
    split = list(batches(many))
    assert [len(b) for b in split] == [500, 500, 234]
    big = records(30, size=400_000)  # 12 per 5 MB
    split = list(batches(big))
    assert [len(b) for b in split] == [13, 13, 4]
    assert all(sum(len(r.data) + len(r.partition_key) for r in b) <= MAX_BATCH_BYTES for b in split)
    assert [r for b in split for r in b] == big


def test_partial_failures_retry_only_failed_records_until_each_is_delivered_once(tmp_path: Path) -> None:
    fake = fake_kinesis(fail_rate=0.3)
    sink, waits = sink_for(fake, tmp_path, attempts=30)
    sent = records(1_200)
    sink.put(sent)
    sink.flush()
    assert Counter(delivered(fake)) == Counter((r.data, r.partition_key) for r in sent)
    assert len(delivered(fake)) == len(sent)
    assert sink.stats.sent == 1_200 and sink.stats.failed == 0 and sink.stats.dead_lettered == 0
    assert sink.stats.retried == sum(fake.batch_sizes) - 1_200 > 0
    assert fake.batch_sizes[1] < 500  # the second call re-sends only the failures of the first
    assert waits and all(w >= 0 for w in waits)
    assert not dead_letters(tmp_path)


def test_exhausted_retries_go_to_the_dead_letter_file_and_are_counted(tmp_path: Path) -> None:
    fake = fake_kinesis(fail_rate=0.5)
    sink, waits = sink_for(fake, tmp_path, attempts=3)
    sent = records(400)
    sink.put(sent)
    sink.close()
    letters = dead_letters(tmp_path)
    assert len(letters) == sink.stats.dead_lettered == sink.stats.failed > 0
    assert sink.stats.sent + sink.stats.failed == 400
    recovered = Counter((base64.b64decode(d["data"]), d["partitionKey"]) for d in letters)
    assert recovered + Counter(delivered(fake)) == Counter((r.data, r.partition_key) for r in sent)
    assert {d["errorCode"] for d in letters} == {THROTTLED}
    assert {d["attempts"] for d in letters} == {3}
    assert all(d["errorMessage"] and d["time"].endswith("Z") for d in letters)
    assert len(waits) == 2  # three attempts, two waits


def test_backoff_is_exponential_with_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=10, base_s=0.1, cap_s=1.0)
    rng = random.Random(5)
    for attempt, ceiling in ((1, 0.1), (2, 0.2), (3, 0.4), (4, 0.8), (5, 1.0), (9, 1.0)):
        delays = [policy.delay_s(attempt, rng) for _ in range(500)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.9 * ceiling and min(delays) < 0.1 * ceiling


def throttling_error() -> ClientError:
    return ClientError({"Error": {"Code": THROTTLED, "Message": "slow down"}}, "PutRecords")


def test_whole_call_throttling_and_connection_errors_are_retried(tmp_path: Path) -> None:
    connection_error = EndpointConnectionError(endpoint_url="http://x")
    fake = fake_kinesis(errors=[throttling_error(), connection_error, throttling_error()])
    sink, waits = sink_for(fake, tmp_path)
    sink.put(records(10))
    sink.flush()
    assert len(delivered(fake)) == 10 and sink.stats.sent == 10
    assert sink.stats.retried == 30 and len(waits) == 3
    assert not dead_letters(tmp_path)


def test_whole_call_errors_exhausted_are_dead_lettered(tmp_path: Path) -> None:
    fake = fake_kinesis(errors=[throttling_error() for _ in range(4)])
    sink, _ = sink_for(fake, tmp_path, attempts=4)
    sink.put(records(10))
    sink.flush()
    letters = dead_letters(tmp_path)
    assert len(letters) == 10 == sink.stats.dead_lettered and delivered(fake) == []
    assert {(d["errorCode"], d["attempts"]) for d in letters} == {(THROTTLED, 4)}


def test_non_retryable_errors_are_dead_lettered_at_once(tmp_path: Path) -> None:
    missing = ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no stream"}}, "PutRecords")
    fake = fake_kinesis(errors=[missing])
    sink, waits = sink_for(fake, tmp_path)
    sink.put(records(5))
    sink.flush()
    assert waits == [] and sink.stats.failed == 5
    assert {(d["errorCode"], d["attempts"]) for d in dead_letters(tmp_path)} == {("ResourceNotFoundException", 1)}


def test_buffering_holds_records_until_the_interval_passes(tmp_path: Path) -> None:
    now = [0.0]
    fake = fake_kinesis()
    sink, _ = sink_for(fake, tmp_path, buffer_ms=1_000, clock=lambda: now[0])
    sink.put(records(100))
    now[0] = 0.5
    sink.put(records(100))
    assert fake.batch_sizes == []
    sink.put(records(400))  # a full batch goes out without waiting
    assert fake.batch_sizes == [500]
    now[0] = 1.2
    sink.put(records(1))
    assert fake.batch_sizes == [500, 101]


def test_unbuffered_puts_send_at_once(tmp_path: Path) -> None:
    fake = fake_kinesis()
    sink, _ = sink_for(fake, tmp_path)
    sink.put(records(7))
    assert fake.batch_sizes == [7]


def test_kafka_sink_sends_keyed_records_and_dead_letters_failed_deliveries(tmp_path: Path) -> None:
    producer = FakeKafkaProducer(fail_every=4)
    sink = KafkaSink("alleycat-telemetry", producer, DeadLetterFile(tmp_path / "dead-letter"), retries=2)
    sent = records(20)
    sink.put(sent)
    sink.close()
    assert producer.sent == [("alleycat-telemetry", r.data, r.partition_key.encode()) for r in sent]
    assert producer.flushed == 1 and producer.closed == 1
    assert sink.stats.sent == 15 and sink.stats.failed == sink.stats.dead_lettered == 5
    letters = dead_letters(tmp_path)
    assert [base64.b64decode(d["data"]) for d in letters] == [sent[i].data for i in (3, 7, 11, 15, 19)]
    assert {(d["errorCode"], d["attempts"]) for d in letters} == {("TimeoutError", 3)}


def test_a_record_over_one_megabyte_is_dead_lettered_not_sent(tmp_path: Path) -> None:
    fake = fake_kinesis()
    sink, _ = sink_for(fake, tmp_path)
    sink.put([Record(b"x" * (1024 * 1024), "k"), *records(3)])
    sink.flush()
    assert len(delivered(fake)) == 3 and sink.stats.dead_lettered == 1
    assert [(d["errorCode"], d["attempts"]) for d in dead_letters(tmp_path)] == [("RecordTooLarge", 0)]


def test_race_partition_key_keeps_each_race_on_one_key_and_separates_classes() -> None:
    sim = Simulator(SimConfig(start_ms=1_700_000_100_000, seed=3, classes=(1, 2), racers=3, race_seconds=5))
    events = [ev for tick in sim.ticks() for ev in tick.events]
    keys_by_race: dict[tuple[int, int], set[str]] = {}
    for ev in events:
        keys_by_race.setdefault(ev.race, set()).add(partition_key(ev, "race"))
    assert len(keys_by_race) == 2 and all(len(k) == 1 for k in keys_by_race.values())
    assert len(set.union(*keys_by_race.values())) == 2  # the two classes share a raceId, not a key
    assert len({partition_key(ev, "racer") for ev in events}) == 6
    assert len({partition_key(ev, "random") for ev in events}) == len(events)
