"""``alleycat simulate`` through its real parser, against the shipped Kinesis and Kafka fakes."""

from __future__ import annotations

import argparse
import json
import types
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from alleycat.cli import build_parser, main
from alleycat.domain.events import parse_event
from alleycat.settings import Settings
from alleycat.support.clock import SettableClock
from alleycat.testing.kafka import FakeKafkaProducer
from alleycat.testing.kinesis import THROTTLED, FakeKinesis, FirstAttempts, RandomThrottle, ShardBudget
from producers.factory import SinkOptions, build_sink
from producers.kafka import KafkaSink
from producers.kinesis import KinesisSink, RetryPolicy
from producers.readback import read_stream
from producers.sinks import DeadLetterFile, Record

# 2 classes x 30 racers x 10 s = 600 records, as fast as possible, kept in a file to compare
RUN = ["simulate", "--seed", "4", "--classes", "1,2", "--racers", "30", "--race-seconds", "10", "--speed", "0"]
RECORDS = 600


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def no_kinesis() -> Any:
    raise AssertionError("a Kafka run made a Kinesis client")


def test_simulate_without_max_attempts_delivers_every_record_of_a_throttling_stream_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(home=tmp_path)
    fake = FakeKinesis({settings.stream: 2}, throttle=FirstAttempts(3))  # every record: 3 throttles, then in
    out = tmp_path / "sent.jsonl"
    args = parse(*RUN, "--out", str(out), "--buffer-ms", "60000", "--partition-key", "racer")
    assert args.max_attempts is None
    assert args.func(args, settings, kinesis=lambda: fake) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == RECORDS
    arrived = fake.records(settings.stream)
    assert Counter(r.data for r in arrived) == Counter(lines)  # every record, exactly once
    assert {r.shard_id for r in arrived} == {"shardId-000000000000", "shardId-000000000001"}
    assert f"sent {RECORDS}; throttled {3 * RECORDS:,}; retried {3 * RECORDS:,}; failed 0; dead-lettered 0" in (
        capsys.readouterr().out
    )
    assert not settings.dead_letter_dir.exists()


def test_unbuffered_simulate_retries_each_call_and_keeps_per_key_order(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    fake = FakeKinesis({settings.stream: 4}, throttle=FirstAttempts(1))
    args = parse(*RUN[:-6], "--racers", "5", "--race-seconds", "6", "--speed", "0", "--partition-key", "racer")
    assert args.func(args, settings, kinesis=lambda: fake) == 0
    shards = read_stream(fake, settings.stream)
    assert sum(map(len, shards.values())) == 2 * 5 * 6
    for records in shards.values():  # a racer's seconds arrive in the order sent
        for key in {r.partition_key for r in records}:
            seconds = [parse_event(r.data).second for r in records if r.partition_key == key]
            assert seconds == sorted(seconds)
    assert fake.batch_sizes == [10, 10] * 6  # each tick: one call throttled whole, one re-send


def test_records_still_throttled_after_max_attempts_are_dead_lettered_and_fail_the_run(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    fake = FakeKinesis({settings.stream: 1}, throttle=FirstAttempts(3))
    args = parse(*RUN, "--no-send", "--out", str(tmp_path / "x.jsonl"))
    assert args.func(args, settings, kinesis=no_kinesis) == 0  # --no-send makes no client
    args = parse(*RUN, "--max-attempts", "2", "--buffer-ms", "60000")
    assert args.func(args, settings, kinesis=lambda: fake) == 1
    letters = [json.loads(line) for f in settings.dead_letter_dir.iterdir() for line in f.read_text().splitlines()]
    assert len(letters) == RECORDS and fake.records(settings.stream) == []
    assert {(d["errorCode"], d["attempts"]) for d in letters} == {(THROTTLED, 2)}
    assert all("Rate exceeded for shard shardId-000000000000" in d["errorMessage"] for d in letters)


def test_kafka_options_parse_and_build_a_kafka_sink(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    producer = FakeKafkaProducer()
    made: list[tuple[str, int, int, str | None]] = []

    def kafka(bootstrap: str, linger_ms: int, retries: int, iam_region: str | None) -> FakeKafkaProducer:
        made.append((bootstrap, linger_ms, retries, iam_region))
        return producer

    args = parse(*RUN, "--sink", "kafka", "--kafka-bootstrap", "k1:9092,k2:9092", "--stream", "t", "--buffer-ms", "5")
    assert args.func(args, settings, kinesis=no_kinesis, kafka=kafka) == 0
    assert made == [("k1:9092,k2:9092", 5, RetryPolicy().max_attempts - 1, None)]
    assert len(producer.sent) == RECORDS and {topic for topic, _, _ in producer.sent} == {"t"}
    assert producer.flushed >= 1 and producer.closed == 1
    # ALLEYCAT_KAFKA_AUTH=iam: the producer signs in to MSK in the settings' region
    msk = Settings.from_env({"ALLEYCAT_HOME": str(tmp_path), "ALLEYCAT_KAFKA_AUTH": "iam", "AWS_REGION": "eu-west-1"})
    assert args.func(args, msk, kinesis=no_kinesis, kafka=kafka) == 0
    assert made[-1] == ("k1:9092,k2:9092", 5, RetryPolicy().max_attempts - 1, "eu-west-1")

    args = parse(*RUN, "--sink", "kafka", "--max-attempts", "3")
    sink = build_sink(
        SinkOptions(args.stream or settings.stream, args.sink, args.buffer_ms, args.max_attempts),
        DeadLetterFile(settings.dead_letter_dir),
        kinesis_client=no_kinesis,
        kafka=lambda *_: producer,
    )
    assert isinstance(sink, KafkaSink) and sink.topic == "alleycat-telemetry" and sink.attempts == 3


def test_parsed_defaults_are_plain_values_and_build_the_default_retry_policy(tmp_path: Path) -> None:
    args = parse("simulate")
    descriptors = {k: v for k, v in vars(args).items() if isinstance(v, types.MemberDescriptorType)}
    assert descriptors == {}
    assert args.sink is None and args.kafka_bootstrap is None  # the settings' transport and broker decide
    options = SinkOptions(args.stream or "s", Settings().transport, args.buffer_ms, args.max_attempts)
    sink = build_sink(options, DeadLetterFile(tmp_path), kinesis_client=lambda: FakeKinesis({"s": 1}))
    assert isinstance(sink, KinesisSink) and sink.retry == RetryPolicy()
    assert SinkOptions("s", max_attempts=5).retry_policy() == RetryPolicy(max_attempts=5)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "--no-send"], "error: --no-send needs --out"),
        (["simulate", "--no-send", "--out", "x", "--start", "soon"], "error: --start 'soon' is not ISO 8601"),
        (["simulate", "--races", "-1"], "error: --races must be 0 (continuous) or more"),
    ],
)
def test_usage_errors_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(message)


def test_a_shard_budget_throttles_and_the_sink_delivers_once_the_second_turns(tmp_path: Path) -> None:
    clock = SettableClock(start_ms=0)
    fake = FakeKinesis({"s": 1}, throttle=ShardBudget(1000, clock), clock=clock)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(int(seconds * 1000) + 1)

    sink = KinesisSink("s", fake, DeadLetterFile(tmp_path), retry=RetryPolicy(max_attempts=30), sleep=sleep)
    sent = [Record(f"{i:06d}".encode(), f"k{i % 9}") for i in range(2_500)]
    sink.put(sent)
    sink.flush()
    assert sink.stats.sent == 2_500 and sink.stats.failed == 0 and sink.stats.retried > 0
    arrived = fake.records("s")
    assert sorted(r.data for r in arrived) == [r.data for r in sent]
    per_second = Counter(int(r.arrival.timestamp()) for r in arrived)
    assert max(per_second.values()) == 1000  # never more than the budget in one second
    assert waits


def test_fake_lists_shards_page_by_page_and_reads_them_back() -> None:
    fake = FakeKinesis({"s": 5}, page_size=2, throttle=RandomThrottle(0.0))
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        fake.list_shards(StreamName="missing")
    first = fake.list_shards(StreamName="s")
    assert len(first["Shards"]) == 2 and "NextToken" in first
    for i in range(50):
        fake.put_record(StreamName="s", Data=f"{i}".encode(), PartitionKey=f"key-{i}")
    shards = read_stream(fake, "s")
    assert list(shards) == [f"shardId-{i:012d}" for i in range(5)]
    assert sorted(int(r.data) for records in shards.values() for r in records) == list(range(50))
