"""The local Firehose against kinesalite: PutRecords -> DeliveryStream -> Parquet and processing-failed,
read back with pyarrow; restarts honour the checkpoints; children shards follow their parents."""

from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pytest

from alleycat.adapters import aws
from alleycat.domain.events import Telemetry
from alleycat.lake.schema import RAW_PARTITIONS, RAW_SCHEMA, raw_partition
from alleycat.settings import Settings
from alleycat.testing.raw_zone import FailingObjectWrites
from infra.local import stack as local_stack
from infra.local.environment import stack_lake
from infra.local.firehose.delivery import DeliveryStream
from infra.local.firehose.objects import LocalObjects
from infra.local.firehose.reader import KinesisStreamSource

START_MS = 1_714_602_600_000  # 2024-05-01T22:30:00Z: events span three hours and two days


def valid_events(n: int, rng: random.Random) -> list[Telemetry]:
    return [
        Telemetry(
            uuid=str(uuid.UUID(int=rng.getrandbits(128))),
            event="update",
            device_timestamp=START_MS + i * 30_000,  # every 30 s: 22:30 .. 00:59 for 300 events
            second=i % 300 + 1,
            race_id=5_000_000 + i % 7,
            name=f"racer {i % 13}",
            racer_id=i % 13,
            class_id=i % 6 + 1,
            cadence=round(rng.uniform(30, 90), 1),
            resistance=float(rng.randint(33, 86)),
        )
        for i in range(n)
    ]


MALFORMED = [
    (b"{not json", "bad_json"),
    (b'{"event":"update"}', "missing_field"),
    (b"[1,2,3]", "not_an_object"),
    (b'{"name":"\xff"}', "not_utf8"),
]


def malformed_events(n: int) -> list[tuple[bytes, str]]:
    """Distinct malformed payloads (trailing blanks) and the InvalidEvent reason each must be logged with."""
    return [(payload + b" " * i, reason) for i in range(n) for payload, reason in [MALFORMED[i % len(MALFORMED)]]]


def put(settings: Settings, payloads: list[tuple[bytes, str]]) -> None:
    kinesis = aws.client("kinesis", settings.region)
    for start in range(0, len(payloads), 500):
        batch = payloads[start : start + 500]
        response = kinesis.put_records(
            StreamName=settings.stream, Records=[{"Data": data, "PartitionKey": key} for data, key in batch]
        )
        assert response["FailedRecordCount"] == 0


def put_events(settings: Settings, events: list[Telemetry]) -> None:
    put(settings, [(ev.to_json(), str(ev.race_id)) for ev in events])


def drain(stream: DeliveryStream) -> None:
    while stream.poll_once():
        pass
    stream.flush()


def delivery_stream(settings: Settings, buffer_seconds: float, buffer_mb: float) -> DeliveryStream:
    return DeliveryStream(settings, name=f"{settings.stream}-raw", buffer_seconds=buffer_seconds, buffer_mb=buffer_mb)


def raw_rows(settings: Settings) -> list[dict]:
    """The raw table as an engine sees it: every visible Parquet file, dt/hour from the paths (strings, as in Glue)."""
    lake = stack_lake(settings)
    root = lake.resolve(lake.layout.raw)
    partitions = pads.partitioning(pa.schema([(name, pa.string()) for name, _ in RAW_PARTITIONS]), flavor="hive")
    dataset = pads.dataset(root, format="parquet", partitioning=partitions)
    for fragment in dataset.get_fragments():
        assert fragment.physical_schema.equals(RAW_SCHEMA)
    return dataset.to_table().to_pylist()


def visible_files(settings: Settings) -> list[Path]:
    root = Path(stack_lake(settings).resolve(settings.lake_uri))
    return sorted(p for p in root.rglob("*") if p.is_file())


def failed_docs(settings: Settings) -> list[dict]:
    lake = stack_lake(settings)
    root = Path(lake.resolve(lake.layout.processing_failed))
    files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))]
    return [json.loads(line) for p in files for line in p.read_text().splitlines()]


def test_delivers_valid_events_once_in_partitions_and_malformed_to_processing_failed(
    own_stream: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(7)
    events = valid_events(300, rng)
    bad = malformed_events(40)
    payloads = [(ev.to_json(), str(ev.race_id)) for ev in events] + [(p, f"bad-{i}") for i, (p, _) in enumerate(bad)]
    rng.shuffle(payloads)
    put(own_stream, payloads)

    stream = delivery_stream(own_stream, buffer_seconds=3600, buffer_mb=1)
    with caplog.at_level(logging.WARNING, logger="alleycat.firehose_transform"):
        drain(stream)

    rows = raw_rows(own_stream)
    assert Counter(r["uuid"] for r in rows) == Counter(ev.uuid for ev in events)  # each exactly once
    by_uuid = {ev.uuid: ev for ev in events}
    for row in rows:
        ev = by_uuid[row["uuid"]]
        assert {"dt": row["dt"], "hour": row["hour"]} == raw_partition(ev.device_timestamp)
        assert (row["cadence"], row["resistance"], row["output"]) == (ev.cadence, ev.resistance, ev.output)
        assert row["shard_id"].startswith("shardId-") and row["sequence_number"] and row["arrival_timestamp"] > 0
    assert {(r["dt"], r["hour"]) for r in rows} == {("2024-05-01", "22"), ("2024-05-01", "23"), ("2024-05-02", "00")}
    assert all(not p.name.startswith((".", "_")) for p in visible_files(own_stream))  # no temporaries left

    failed = failed_docs(own_stream)
    assert Counter(base64.b64decode(d["rawData"]) for d in failed) == Counter(p for p, _ in bad)
    assert {d["errorCode"] for d in failed} == {"Lambda.ProcessingFailed"}
    assert all(d["attemptsMade"] == 1 and d["lambdaArn"].startswith("arn:aws:lambda:") for d in failed)
    logged = Counter(getattr(r, "reason", None) for r in caplog.records if r.getMessage() == "invalid event")
    assert logged == Counter(reason for _, reason in bad)

    status = stream.status()
    assert (status.records_delivered, status.records_failed, status.buffered_records) == (300, 40, 0)
    assert status.files_written == 4 and status.last_delivery is not None

    # a restart delivers nothing again, then exactly what is new
    files_before = visible_files(own_stream)
    restarted = delivery_stream(own_stream, buffer_seconds=3600, buffer_mb=1)
    drain(restarted)
    assert visible_files(own_stream) == files_before and restarted.status().records_delivered == 0
    more = valid_events(350, random.Random(8))[300:]
    put_events(own_stream, more)
    drain(restarted)
    assert Counter(r["uuid"] for r in raw_rows(own_stream)) == Counter(ev.uuid for ev in events + more)


def test_a_crash_before_delivery_loses_nothing(own_stream: Settings) -> None:
    events = valid_events(40, random.Random(9))
    put_events(own_stream, events)
    crashed = delivery_stream(own_stream, buffer_seconds=3600, buffer_mb=64)
    while crashed.poll_once():
        pass
    assert crashed.status().buffered_records == 40 and crashed.status().checkpoint_lag_s > 0
    del crashed  # read, never delivered, never checkpointed

    drain(delivery_stream(own_stream, buffer_seconds=3600, buffer_mb=64))
    assert Counter(r["uuid"] for r in raw_rows(own_stream)) == Counter(ev.uuid for ev in events)


def test_run_delivers_on_the_buffer_interval_and_flushes_on_stop(
    own_stream: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the run's own INFO logs must format too
    stream = delivery_stream(own_stream, buffer_seconds=0.5, buffer_mb=1)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            stream.run(stop)
        except BaseException as exc:
            errors.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    try:
        events = valid_events(30, random.Random(10))
        put_events(own_stream, events)
        deadline = time.monotonic() + 20
        while stream.status().records_delivered < 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stream.status().records_delivered == 30
    finally:
        stop.set()
        runner.join(timeout=20)
    assert not runner.is_alive()
    assert errors == []
    assert "delivery stream stopped" in caplog.text
    assert Counter(r["uuid"] for r in raw_rows(own_stream)) == Counter(ev.uuid for ev in events)


def test_children_shards_are_read_after_their_parent(own_stream: Settings) -> None:
    kinesis = aws.client("kinesis", own_stream.region)
    before = valid_events(60, random.Random(11))
    put_events(own_stream, before)
    parent = kinesis.list_shards(StreamName=own_stream.stream)["Shards"][0]
    low, high = (int(k) for k in parent["HashKeyRange"].values())
    kinesis.split_shard(
        StreamName=own_stream.stream, ShardToSplit=parent["ShardId"], NewStartingHashKey=str((low + high) // 2)
    )
    local_stack.wait_stream_active(aws.client("kinesis", own_stream.region), own_stream.stream)
    after = valid_events(120, random.Random(12))[60:]
    put_events(own_stream, after)

    stream = delivery_stream(own_stream, buffer_seconds=3600, buffer_mb=1)
    for _ in range(10):  # a child becomes readable once its parent is delivered to its end
        drain(stream)
    assert Counter(r["uuid"] for r in raw_rows(own_stream)) == Counter(ev.uuid for ev in before + after)
    assert isinstance(stream.source, KinesisStreamSource)
    assert stream.source.checkpoints[parent["ShardId"]].finished


def test_failed_raw_zone_writes_are_retried_and_nothing_is_lost(own_stream: Settings) -> None:
    """Writes to the raw zone fail (the object store's errors): each is tried again until it goes
    through, the checkpoints wait for it, and every record is delivered exactly once."""
    events = valid_events(120, random.Random(11))  # two hours: two Parquet objects
    bad = malformed_events(3)  # and one processing-failed object
    put_events(own_stream, events)
    put(own_stream, [(p, f"bad-{i}") for i, (p, _) in enumerate(bad)])
    objects = FailingObjectWrites(LocalObjects()).fail(5)
    stream = DeliveryStream(
        own_stream, name=f"{own_stream.stream}-raw", buffer_seconds=3600, buffer_mb=64, objects=objects,
        write_retry_s=0.01,
    )  # fmt: skip
    drain(stream)
    assert objects.failed == 5 and stream.status().write_retries == 5
    assert Counter(r["uuid"] for r in raw_rows(own_stream)) == Counter(ev.uuid for ev in events)
    assert Counter(base64.b64decode(d["rawData"]) for d in failed_docs(own_stream)) == Counter(p for p, _ in bad)
    assert all(not p.name.startswith((".", "_")) for p in visible_files(own_stream))  # no partial objects
    restarted = delivery_stream(own_stream, buffer_seconds=3600, buffer_mb=64)
    drain(restarted)  # the checkpoints are past everything: nothing delivered twice
    assert restarted.status().records_delivered == 0
