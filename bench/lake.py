"""The lake path: raw -> Hudi throughput, and lake freshness at default settings.

1. Throughput: a day's slice of races (6 classes x 50 racers x 300 s, with 10 % retries) written
   to the raw zone, then one batch of the Glue job (local[2], after a warm-up batch): raw Parquet
   MiB/s, the same events as JSON MiB/s (what the stream carried), and rows/s.
2. Freshness, on a private local stack: live events (100 racers, one a second, deviceTimestamp =
   now) put on Kinesis -> the local Firehose (default hints: 60 s / 1 MiB) -> the streaming job
   (default trigger: 60 s) -> telemetry. Each event's freshness is the time from its
   deviceTimestamp until a hudi-rs snapshot of telemetry shows it (polled every second).

``ALLEYCAT_BENCH_LAKE_SECONDS`` (default 180) sets how long events are produced; the bench then
waits until every one is visible (at most 5 minutes more).
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from pyspark.sql import SparkSession

from alleycat.adapters import aws
from alleycat.domain.events import Telemetry, race_id_for
from alleycat.lake.catalog import table
from alleycat.lake.location import Lake
from alleycat.settings import Settings
from glue_jobs import raw_zone, session, snapshots, telemetry_job
from glue_jobs.config import JobConfig
from infra.local import stack
from infra.local.environment import stack_lake
from infra.local.firehose.delivery import DeliveryStream

MIB = 1024 * 1024
LIVE_RACERS = 100


def _events(rng: random.Random, start_ms: int, classes: int, racers: int, seconds: int) -> list[Telemetry]:
    return [
        Telemetry(
            uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            event="final" if second == seconds else "update",
            device_timestamp=start_ms + second * 1000,
            second=second,
            race_id=race_id_for(start_ms),
            name=f"Rider{class_id}{i:03d}",
            racer_id=class_id * 1000 + i,
            class_id=class_id,
            cadence=round(rng.uniform(30, 90), 1),
            resistance=float(rng.randrange(33, 87)),
        )
        for class_id in range(1, classes + 1)
        for i in range(racers)
        for second in range(1, seconds + 1)
    ]


def throughput(spark: SparkSession, lake: Lake) -> dict[str, float]:
    rng = random.Random(1)
    start_ms = race_id_for(int(time.time() * 1000)) * 300_000
    warm = JobConfig(lake_uri=f"{lake.uri}-warmup", local_root=lake.local_root, mode="backfill")
    raw_zone.write_events(warm.lake, _events(rng, start_ms, 1, 5, 30), 0, "warmup")
    telemetry_job.run(spark, warm)

    events = _events(rng, start_ms, 6, 50, 300)
    events += rng.sample(events, len(events) // 10)
    config = JobConfig(lake_uri=lake.uri, local_root=lake.local_root, mode="backfill")
    raw_zone.write_events(config.lake, events, 0, "bench")
    raw_bytes = sum(f.size for f in raw_zone.list_files(config.lake))
    json_bytes = sum(len(ev.to_json()) for ev in events)
    started = time.monotonic()
    telemetry_job.run(spark, config)
    elapsed = time.monotonic() - started
    return {
        "rows": len(events),
        "seconds": elapsed,
        "raw_mib_s": raw_bytes / MIB / elapsed,
        "json_mib_s": json_bytes / MIB / elapsed,
        "rows_s": len(events) / elapsed,
    }


def _produce(settings: Settings, stop: threading.Event, sent: list[Telemetry]) -> None:
    kinesis = aws.client("kinesis", settings.region)
    rng = random.Random(2)
    start_ms = int(time.time() * 1000)
    second = 0
    while not stop.is_set():
        second += 1
        now = int(time.time() * 1000)
        batch = [
            Telemetry(
                uuid=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                event="update",
                device_timestamp=now,
                second=second,
                race_id=race_id_for(start_ms),
                name=f"Live{i}",
                racer_id=i,
                class_id=1,
                cadence=round(rng.uniform(30, 90), 1),
                resistance=float(rng.randrange(33, 87)),
            )
            for i in range(LIVE_RACERS)
        ]
        kinesis.put_records(
            StreamName=settings.stream,
            Records=[{"Data": ev.to_json(), "PartitionKey": str(ev.race_id)} for ev in batch],
        )
        sent.extend(batch)
        stop.wait(max(0.0, 1.0 - (time.time() * 1000 - now) / 1000))


def freshness(spark: SparkSession, settings: Settings, seconds: float) -> dict[str, float]:
    stop, producing = threading.Event(), threading.Event()
    sent: list[Telemetry] = []
    delivery = DeliveryStream(settings)
    lake = stack_lake(settings)
    config = JobConfig(lake_uri=lake.uri, local_root=lake.local_root)
    query = telemetry_job.start(spark, config)
    firehose = threading.Thread(target=delivery.run, args=(stop,), daemon=True)
    producer = threading.Thread(target=_produce, args=(settings, producing, sent), daemon=True)
    firehose.start()
    producer.start()
    target = table(lake, "telemetry")
    visible: dict[str, int] = {}
    commits = 0
    stop_producing_at = time.monotonic() + seconds
    give_up_at = stop_producing_at + 300  # after the last event: until every one is visible
    try:
        while time.monotonic() < give_up_at and not (producing.is_set() and len(visible) >= len(sent)):
            time.sleep(1.0)
            if time.monotonic() >= stop_producing_at and not producing.is_set():
                producing.set()
                producer.join()
            if not (Path(target.path) / ".hoodie" / "hoodie.properties").is_file():
                continue
            if len(snapshots.commits(target)) == commits:
                continue
            now = int(time.time() * 1000)
            commits = len(snapshots.commits(target))
            for uid in snapshots.read(target, ["uuid"]).column(0).to_pylist():
                visible.setdefault(uid, now)
    finally:
        producing.set()
        stop.set()
        producer.join(timeout=30)
        firehose.join(timeout=30)
        query.stop()
    lags = sorted((visible[ev.uuid] - ev.device_timestamp) / 1000 for ev in sent if ev.uuid in visible)
    if len(lags) < 2:
        return {"events": len(sent), "visible": len(lags), "commits": commits}
    cuts = statistics.quantiles(lags, n=20)
    return {
        "events": len(sent),
        "visible": len(lags),
        "commits": commits,
        "p50_s": statistics.median(lags),
        "p95_s": cuts[18],
        "max_s": lags[-1],
    }


def run() -> None:
    seconds = float(os.environ.get("ALLEYCAT_BENCH_LAKE_SECONDS", "180"))
    with tempfile.TemporaryDirectory(prefix="alleycat-bench-lake-") as tmp:
        settings = stack.private_settings(Path(tmp), ALLEYCAT_SHARDS="1", ALLEYCAT_KINESIS_LIMITS="off")
        stack.up(settings)
        stack.apply_env(settings)
        spark = session.local_spark_session("alleycat-bench-lake")
        try:
            t = throughput(spark, dataclasses.replace(stack_lake(settings), uri="s3://bench-throughput"))
            print(
                f"   raw -> Hudi (one batch, local[2]): {t['rows']:,} rows in {t['seconds']:.1f} s = "
                f"{t['rows_s']:,.0f} rows/s, {t['raw_mib_s']:.2f} MiB/s of raw Parquet "
                f"({t['json_mib_s']:.2f} MiB/s of the events as JSON)",
                flush=True,
            )
            f = freshness(spark, settings, seconds)
            if "p50_s" not in f:
                print(f"   freshness: too few events visible in {seconds:.0f} s ({f})")
                return
            print(
                f"   freshness (Firehose 60 s / 1 MiB, trigger 60 s, {LIVE_RACERS} events/s for {seconds:.0f} s): "
                f"p50 {f['p50_s']:.1f} s, p95 {f['p95_s']:.1f} s, max {f['max_s']:.1f} s "
                f"({f['visible']:,} of {f['events']:,} events visible, {f['commits']} commits)"
            )
        finally:
            spark.stop()
            stack.down(settings)
