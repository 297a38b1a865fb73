"""The Kafka transport end to end on a real Apache Kafka broker (the session stack's, started with
``--transport kafka``): simulator -> Kafka -> the local Kafka event source mapping -> the same
Aggregator -> LIVE, and FinalResults -> RESULT, and Kafka -> the local Firehose (MSK as its
source) -> the raw zone -> the Glue job -> the Hudi tables, all equal to the reference
computation; then the real-time path with the broker and the consumer killed -9 mid-race and
restarted."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from pyspark.sql import SparkSession

from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain.events import InvalidEvent, Telemetry, parse_event
from alleycat.lake.catalog import table as lake_table
from alleycat.resources import KAFKA_AGGREGATOR
from alleycat.settings import Settings
from glue_jobs import snapshots, telemetry_job
from glue_jobs.config import JobConfig
from infra.local import kafka as local_kafka
from infra.local import stack as local_stack
from infra.local.environment import stack_env, stack_lake
from infra.local.esm.metrics import status_dir
from infra.local.firehose.delivery import DEFAULT_NAME as FIREHOSE
from infra.local.firehose.delivery import DeliveryStream
from infra.local.firehose.kafka_source import KafkaTopicSource
from infra.local.lake import deliver_once
from infra.local.processes import ProcessTable, free_port, port_open
from tests.integration.test_chaos import _lost_and_twice
from tests.integration.test_firehose_delivery import raw_rows, valid_events
from tests.integration.test_realtime_e2e import expected, mismatches, output
from tests.lake_events import (
    bests_of,
    expected_bests,
    expected_results,
    expected_standings,
    expected_telemetry,
    results_of,
    standings_of,
    telemetry_of,
)

pytestmark = [pytest.mark.stack, pytest.mark.spark]
REPO = Path(__file__).resolve().parents[2]
RACERS = 5  # per class, six classes


@pytest.fixture(scope="module")
def kafka_stack(stack: Settings) -> Iterator[Settings]:
    """The session stack with its Kafka broker up (``alleycat up --transport kafka`` does the same),
    stopped after this module: the other tests see the session stack as the Kinesis transport has it."""
    settings = stack.replace(transport="kafka")
    local_stack.up(settings)
    yield settings
    ProcessTable(stack.home).stop("kafka")


@pytest.fixture
def own_topic(kafka_stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The session's servers with a topic (two partitions) and a home of this test's own."""
    home = tmp_path / "home"
    home.mkdir()
    settings = replace(kafka_stack, home=home, local_s3_root=home / "s3", kafka_topic=f"own-{uuid.uuid4().hex[:8]}")
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(settings.kafka_topic, num_partitions=2, replication_factor=1)])
    finally:
        admin.close()
    yield settings


def _env(settings: Settings) -> dict[str, str]:
    return {**os.environ, **stack_env(settings), "ALLEYCAT_LIVE_URL": f"http://127.0.0.1:{free_port()}/internal/live"}


def _simulate(settings: Settings, out: Path, seed: int, seconds: int, speed: float) -> subprocess.Popen[str]:
    start = datetime.fromtimestamp(1_980_000_000 + 300 * (seed * 1000 + int(time.time()) % 1000), UTC).isoformat()
    return subprocess.Popen(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--sink", "kafka", "--seed", str(seed), "--start", start,
         "--classes", "1,2,3,4,5,6", "--racers", str(RACERS), "--race-seconds", str(seconds), "--speed", str(speed),
         "--duplicate-rate", "0.1", "--late-rate", "0.05", "--malformed-rate", "0.02", "--out", str(out)],
        cwd=REPO, env=_env(settings), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _consumer(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "alleycat.cli", "--log-level", "INFO", "consume"],
            cwd=REPO, env=_env(settings), stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _lag(settings: Settings, group: str = KAFKA_AGGREGATOR.consumer_group_id) -> dict[str, int]:
    """A group's lag (the Aggregator's unless named) per partition of this test's topic."""
    return {
        g["partition"]: g["lag"]
        for g in local_kafka.group_lag(settings)
        if g["group"] == group and g["partition"].startswith(settings.kafka_topic)
    }


def _ends(settings: Settings) -> dict[str, int]:
    """The end offset of each partition of this test's topic, named as ``group_lag`` names them."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(settings.kafka_topic, p) for p in (0, 1)]
        return {f"{tp.topic}-{tp.partition}": end for tp, end in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def _sent(settings: Settings) -> int:
    return sum(_ends(settings).values())


def _caught_up(settings: Settings) -> dict[str, int]:
    """The lag of a group that committed every record: zero on each partition that has records. A
    partition without any never gets a commit, so it is not listed: the six races' keys all hash to
    one partition in about one run in 55 (their race id follows the clock)."""
    return {partition: 0 for partition, end in _ends(settings).items() if end}


def _committed(settings: Settings) -> int:
    """The Aggregator group's committed offsets on this test's topic, summed."""
    return sum(
        g["committed"]
        for g in local_kafka.group_lag(settings)
        if g["group"] == KAFKA_AGGREGATOR.consumer_group_id and g["partition"].startswith(settings.kafka_topic)
    )


def _settle(settings: Settings, out: Path, log: Path) -> None:
    races = expected(out)
    assert len(races) == 6 and all(len(r.racers) == RACERS for r in races.values())
    table = DynamoRaceTable.from_settings(settings)
    deadline = time.monotonic() + 60
    while (problems := mismatches(table, races)) and time.monotonic() < deadline:
        time.sleep(1)
    assert problems == [], "\n".join(problems[:10]) + "\n" + log.read_text()[-3000:]
    assert _lost_and_twice(table, races) == (0, 0)
    # every record processed was committed: the group is at the end of each partition with records
    # (a partition shows up once its first offset is committed: wait for each, not only for zeros)
    caught_up = _caught_up(settings)
    deadline = time.monotonic() + 30
    while (lag := _lag(settings)) != caught_up and time.monotonic() < deadline:
        time.sleep(0.5)
    assert lag == caught_up


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(30)


def test_kafka_path_and_lake_equal_the_reference_with_duplicates_late_and_malformed(
    own_topic: Settings, spark: SparkSession
) -> None:
    out, log = own_topic.home / "race.jsonl", own_topic.home / "consumer.log"
    proc = _consumer(own_topic, log)
    try:
        sim = _simulate(own_topic, out, seed=41, seconds=60, speed=0)
        assert sim.wait(60) == 0, output(sim)
        assert "failed 0; dead-lettered 0" in output(sim)
        _settle(own_topic, out, log)
    finally:
        code = _stop(proc)
    assert code == 0  # a graceful stop
    # the malformed records were dead-lettered with their reason and place in the topic
    letters = [
        line for f in (own_topic.dead_letter_dir / "aggregator").glob("*.jsonl") for line in f.read_text().splitlines()
    ]
    assert letters and all(own_topic.kafka_topic in line for line in letters)
    _lake_equals_the_reference(own_topic, out, spark)


def _lake_equals_the_reference(settings: Settings, out: Path, spark: SparkSession) -> None:
    """The same topic through the local Firehose (MSK as its source) and the Glue job: the Hudi
    tables equal the reference, every malformed record is in processing-failed, and the Firehose's
    group committed the whole topic after writing the raw zone."""
    records = out.read_bytes().splitlines()
    valid, malformed = [], []
    for record in records:
        try:
            valid.append(parse_event(record))
        except InvalidEvent:
            malformed.append(record)
    assert malformed and len(valid) > len({ev.uuid for ev in valid}), "the race has malformed events and duplicates"
    assert deliver_once(settings) == len(records) == _sent(settings)
    assert _lag(settings, FIREHOSE) == _caught_up(settings)
    lake = stack_lake(settings)
    assert any(Path(lake.resolve(lake.layout.raw)).rglob("*.parquet")), "the Firehose wrote the raw zone"
    telemetry_job.run(spark, JobConfig(lake_uri=lake.uri, local_root=lake.local_root, mode="once"))

    def rows(name: str) -> list[dict]:
        return snapshots.read(lake_table(lake, name)).to_pylist()

    assert telemetry_of(rows("telemetry")) == expected_telemetry(valid)
    results = rows("race_results")
    assert results_of(results) == expected_results(valid)
    assert standings_of(results) == expected_standings(valid)
    assert bests_of(rows("racer_bests")) == expected_bests(valid)
    failed_dir = Path(lake.resolve(lake.layout.processing_failed))
    failed = [json.loads(line) for f in failed_dir.rglob("*") if f.is_file() for line in f.read_text().splitlines()]
    assert sorted(base64.b64decode(doc["rawData"]) for doc in failed) == sorted(malformed)


def test_broker_and_consumer_killed_mid_race_lose_nothing_and_count_nothing_twice(
    kafka_stack: Settings, own_topic: Settings
) -> None:
    out, log = own_topic.home / "race.jsonl", own_topic.home / "consumer.log"
    servers = ProcessTable(kafka_stack.home)
    proc = _consumer(own_topic, log)
    sim = _simulate(own_topic, out, seed=43, seconds=120, speed=5)  # ~24 s of sending
    try:
        while not _sent(own_topic):  # the race is on the broker
            assert sim.poll() is None, output(sim)
            time.sleep(0.2)
        time.sleep(1)
        pid = servers.pid("kafka")
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)  # the broker, mid-race
        while servers.pid("kafka") is not None or port_open(kafka_stack.kafka_port):
            time.sleep(0.05)
        local_stack.up(kafka_stack)  # as `alleycat up` does: start what is not running, wait until healthy
        # the consumer is back and has committed (a wedged consumer is replaced after 30 s, and
        # closing it may take kafka-python's 30 s request timeout)
        deadline = time.monotonic() + 120
        while not (committed := _committed(own_topic)):
            assert time.monotonic() < deadline, "nothing committed after the restart\n" + log.read_text()[-3000:]
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)  # the consumer, mid-race
        proc.wait(10)
        restarted_at = time.time()
        proc = _consumer(own_topic, log)  # resumes from the group's committed offsets
        assert sim.wait(120) == 0, output(sim)
        _settle(own_topic, out, log)
        # the restarted consumer read on from the committed offsets, not from the start of the topic
        # (its own report: the killed one's last report stays in the file until the new one writes)
        status = status_dir(own_topic.home) / "Aggregator" / f"kafka:{own_topic.kafka_topic}.json"
        deadline = time.monotonic() + 30
        while (report := json.loads(status.read_text()))["updatedAt"] < restarted_at:
            assert time.monotonic() < deadline, f"no report from the restarted consumer: {report}"
            time.sleep(0.5)
        assert report["polled"] <= len(out.read_bytes().splitlines()) - committed, log.read_text()[-3000:]
    finally:
        if sim.poll() is None:
            sim.kill()
        code = _stop(proc)
    assert code == 0


class _CrashBeforeCommit:
    """The Kafka source of a Firehose that dies after writing its objects and before committing:
    everything as the real source, except that its commits never happen."""

    def __init__(self, source: KafkaTopicSource) -> None:
        self.source = source
        self.arn, self.name = source.arn, source.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def checkpoint(self) -> None:
        """Killed here: the objects are written, the offsets are not committed."""


def _send(settings: Settings, events: list[Telemetry]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        for ev in events:
            producer.send(settings.kafka_topic, ev.to_json(), key=f"{ev.race_id}-{ev.class_id}".encode())
        producer.flush(30)
    finally:
        producer.close()


def test_the_firehose_commits_only_after_writing_so_a_crash_redelivers(own_topic: Settings) -> None:
    """A Firehose that read the topic and died before delivering leaves the group where it was: the
    next one delivers every record once. One that died after writing and before committing gets
    every record delivered again (at least once; the Glue job dedups by record key)."""
    events = valid_events(60, random.Random(5))
    _send(own_topic, events)
    crashed = DeliveryStream(own_topic, buffer_seconds=3600, buffer_mb=64)
    while crashed.poll_once() or not crashed.source.caught_up():
        pass
    assert crashed.status().buffered_records == len(events)
    crashed.source.close()  # read, never delivered, never committed
    assert not _lag(own_topic, FIREHOSE)  # the group has committed nothing

    uncommitted = DeliveryStream(
        own_topic, buffer_seconds=3600, buffer_mb=64, source=_CrashBeforeCommit(KafkaTopicSource(own_topic, FIREHOSE))
    )
    while uncommitted.poll_once() or not uncommitted.source.caught_up():
        pass
    uncommitted.flush()  # the objects are written ...
    uncommitted.source.close()  # ... and the process dies before the commit
    assert Counter(r["uuid"] for r in raw_rows(own_topic)) == Counter(ev.uuid for ev in events)

    assert deliver_once(own_topic) == len(events)  # read again from the group's (absent) commit
    assert Counter(r["uuid"] for r in raw_rows(own_topic)) == Counter(ev.uuid for ev in events + events)
    assert _lag(own_topic, FIREHOSE) == _caught_up(own_topic) != {}
    assert deliver_once(own_topic) == 0  # committed now: nothing comes again


def test_a_cluster_id_that_starts_with_a_dash_formats_the_log_directory(tmp_path: Path) -> None:
    """A urlsafe-base64 id starts with "-" once in 64: Kafka's own tool formats the directory with it."""
    settings = replace(Settings.from_env({}), home=tmp_path)
    config = local_kafka.config_path(settings)
    config.parent.mkdir(parents=True)
    config.write_text(local_kafka.server_properties(settings))
    local_kafka.format_log_dir(config, "-AbCdEfGhIjKlMnOpQrStUv")
    meta = (local_kafka.data_dir(settings) / "meta.properties").read_text()
    assert "cluster.id=-AbCdEfGhIjKlMnOpQrStUv" in meta
