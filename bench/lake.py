"""The lake path: raw -> Hudi throughput, and lake freshness at default settings.

1. Throughput, sustained: a backlog of ``ALLEYCAT_BENCH_LAKE_BATCHES`` (default 4) consecutive
   5-minute slots (6 classes x 50 racers x 300 s, with 10 % retries), one raw object each, drained
   one object per micro-batch (local[2]) by, in the same run: the Glue job's streaming driver
   (all three tables); Hudi's own streaming writer into a table defined like ``telemetry`` with
   every tuning option at Hudi's default (the yardstick: Apache Hudi's HoodieStreamer, in
   ``hudi-utilities-slim-bundle``, is not in the Maven repository these machines reach, 404 for
   every 1.0.x; the streaming sink is the same bundle's own streaming ingestion); and a plain
   Parquet copy of the same rows in one batch (the ceiling). Rows/s of raw rows, the ratios, and
   ours against the 7,108 rows/s measured for one batch before the profile (goal: 5x).
2. Headroom at the job's own trigger: five full races at once (5 classes x 1,000 racers, 5,000
   events/s + 10 % retries), one raw object per minute of the race, one micro-batch each (what a
   60 s trigger takes in), by ours and by Hudi's sink: each batch's seconds (Spark's query
   progress) and the headroom, 60 s over the slowest batch. The stored races grow with every
   minute, so later batches cost more. ``ALLEYCAT_BENCH_LAKE_FULL_RACERS`` (default 1000) sets the
   racers per class.
3. Freshness, on a private local stack: live events (100 racers, one a second, deviceTimestamp =
   now) put on Kinesis -> the local Firehose (default hints: 60 s / 1 MiB) -> the streaming job
   (default trigger: 60 s) -> telemetry. Each event's freshness is the time from its
   deviceTimestamp until a hudi-rs snapshot of telemetry shows it (polled every second).

``ALLEYCAT_BENCH_LAKE_SECONDS`` (default 180) sets how long events are produced; the bench then
waits until every one is visible (at most 5 minutes more).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery, StreamingQueryListener

from alleycat.adapters import aws
from alleycat.domain.events import RACE_MS, RACE_SECONDS, Telemetry, race_id_for
from alleycat.lake.catalog import TELEMETRY_COLUMNS, table
from alleycat.lake.location import Lake
from alleycat.settings import Settings
from consumers import firehose_transform
from glue_jobs import raw_zone, session, snapshots, telemetry_job
from glue_jobs.config import JobConfig
from glue_jobs.hudi_tables import hudi_options
from glue_jobs.sources import raw_snapshot, raw_stream
from glue_jobs.transforms import conform, output_milli
from infra.local import stack
from infra.local.environment import stack_lake
from infra.local.firehose.delivery import DeliveryStream

LIVE_RACERS = 100
BASELINE_ROWS_S = 7_108  # raw -> Hudi, one batch, before the profile (issue 15)
# what makes Hudi's streaming sink write a table equivalent to ``telemetry``; everything else is
# left at Hudi's defaults (index, small files, combining, parallelism, timeline server)
TABLE_DEFINITION = {
    "hoodie.table.name",
    "hoodie.datasource.write.table.type",
    "hoodie.datasource.write.operation",
    "hoodie.datasource.write.recordkey.field",
    "hoodie.datasource.write.partitionpath.field",
    "hoodie.datasource.write.precombine.field",
    "hoodie.datasource.write.keygenerator.class",
    "hoodie.datasource.write.hive_style_partitioning",
    "hoodie.datasource.write.payload.class",
    "hoodie.write.table.version",
    "hoodie.write.auto.upgrade",
    "hoodie.metadata.enable",
    "hoodie.table.timeline.timezone",
}


def _events(
    rng: random.Random, start_ms: int, classes: int, racers: int, seconds: int, span: range | None = None
) -> list[Telemetry]:
    """Every racer's points of a ``seconds``-long race (or its seconds in ``span`` only)."""
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
        for second in span or range(1, seconds + 1)
    ]


def _this_hour_ms() -> int:
    """The start of this hour, epoch ms: slots from there fall in one raw hour (the raw zone is
    partitioned by device time), so each is one object and one micro-batch. A slot that crossed an
    hour made two objects: a fifth micro-batch for four slots in some runs."""
    return int(time.time() // 3600) * 3_600_000


def _slots(lake: Lake, rng: random.Random, start_ms: int, slots: int) -> int:
    """Write ``slots`` consecutive 5-minute slots of races to the raw zone, oldest first (one object
    per slot within an hour, as a backlog of Firehose deliveries); returns the rows written."""
    rows = 0
    for slot in range(slots):
        events = _events(rng, start_ms + slot * RACE_MS, 6, 50, 300)
        events += rng.sample(events, len(events) // 10)
        raw_zone.write_events(lake, events, 0, f"slot-{slot:03d}")
        rows += len(events)
    return rows


def _points(raw: DataFrame) -> DataFrame:
    """The telemetry table's columns row by row (what Hudi's own writer gets: no window, so its
    precombine on ``event_order`` picks each key's winner, and ``final_seen`` is the row's own)."""
    return conform(
        raw.withColumn("output_milli", output_milli(F.col("cadence"), F.col("resistance")))
        .withColumn("output", F.col("output_milli") / 1000)
        .withColumn("final_seen", F.col("event") == "final")
        .withColumn(
            "event_order",
            F.concat(F.lpad(F.col("device_timestamp").cast("string"), 13, "0"), F.lit("-"), F.col("uuid")),
        )
        .withColumn("dt", F.from_unixtime(F.col("race_id") * RACE_SECONDS, "yyyy-MM-dd")),
        TELEMETRY_COLUMNS,
    )


def _ours(spark: SparkSession, config: JobConfig) -> float:
    """The Glue job's streaming driver over the backlog, one raw object per micro-batch."""
    started = time.monotonic()
    telemetry_job.run(spark, config)
    return time.monotonic() - started


def _hudi_sink(spark: SparkSession, config: JobConfig, path: str) -> float:
    """Hudi's own streaming writer (``writeStream.format("hudi")``) over the same backlog, one raw
    object per micro-batch, into a table defined like ``telemetry`` (its key, partitions, ordering
    field, payload, table type and version), every tuning option at Hudi's default."""
    options = {k: v for k, v in hudi_options(config.table("telemetry")).items() if k in TABLE_DEFINITION}
    stream = raw_stream(spark, config)
    started = time.monotonic()
    query = (
        _points(stream)
        .writeStream.format("hudi")
        .options(**options)
        .option("checkpointLocation", f"{path}-checkpoint")
        .trigger(availableNow=True)
        .start(path)
    )
    query.awaitTermination()
    return time.monotonic() - started


def _parquet_copy(spark: SparkSession, config: JobConfig, path: str) -> float:
    """The ceiling: the same rows, the same row-wise columns, written as plain Parquet in one batch."""
    started = time.monotonic()
    _points(raw_snapshot(spark, config)).write.partitionBy("dt", "class_id").mode("overwrite").parquet(path)
    return time.monotonic() - started


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else math.inf


def throughput(spark: SparkSession, lake: Lake, slots: int) -> dict[str, float]:
    """Ours, Hudi's streaming sink and a plain Parquet copy over the same backlog, in that order,
    each after a warm-up of its own on a small lake (class loading and JIT are not timed)."""
    rng = random.Random(1)
    start_ms = _this_hour_ms()  # up to 12 slots: each one raw object, one micro-batch
    assert lake.local_root is not None
    out = lake.local_root / "bench-yardsticks"
    warm = JobConfig(lake_uri=f"{lake.uri}-warmup", local_root=lake.local_root, mode="once", max_files_per_trigger=1)
    raw_zone.write_events(warm.lake, _events(rng, start_ms, 1, 5, 30), 0, "warmup")
    _ours(spark, warm)
    _hudi_sink(spark, warm, str(out / "warmup-hudi"))
    _parquet_copy(spark, warm, str(out / "warmup-parquet"))

    config = JobConfig(lake_uri=lake.uri, local_root=lake.local_root, mode="once", max_files_per_trigger=1)
    rows = _slots(config.lake, rng, start_ms, slots)
    load_before = os.getloadavg()[0]
    ours = _ours(spark, config)
    hudi = _hudi_sink(spark, config, str(out / "hudi-sink"))
    copy = _parquet_copy(spark, config, str(out / "parquet"))
    ours_keys = snapshots.read(config.table("telemetry"), ["uuid"]).num_rows
    hudi_keys = snapshots.read(dataclasses.replace(config.table("telemetry"), path=str(out / "hudi-sink")), ["uuid"])
    return {
        "rows": rows,
        "batches": len(raw_zone.list_files(config.lake)),
        "ours_s": _rate(rows, ours),
        "hudi_s": _rate(rows, hudi),
        "copy_s": _rate(rows, copy),
        "ours_keys": ours_keys,
        "hudi_keys": hudi_keys.num_rows,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def _print_throughput(t: dict[str, float]) -> None:
    print(
        f"   raw -> Hudi, {t['rows']:,} rows in {t['batches']:.0f} micro-batches (one raw object, a 5-minute slot "
        f"of 6 classes x 50 racers + 10 % retries, each), local[2], load average {t['load_before']:.1f} -> "
        f"{t['load_after']:.1f}:",
        flush=True,
    )
    print(f"     ours, all three tables:                         {t['ours_s']:>9,.0f} rows/s")
    print(
        f"     Hudi's streaming sink, telemetry only (defaults): {t['hudi_s']:>9,.0f} rows/s   "
        f"ours / Hudi = {t['ours_s'] / t['hudi_s']:.2f} (goal >= 1)"
    )
    print(
        f"     plain Parquet copy, one batch (the ceiling):     {t['copy_s']:>9,.0f} rows/s   "
        f"ours = {100 * t['ours_s'] / t['copy_s']:.0f} % of it"
    )
    print(
        f"     ours / {BASELINE_ROWS_S:,} rows/s (before the profile) = {t['ours_s'] / BASELINE_ROWS_S:.1f}x "
        f"(goal >= 5x); telemetry keys: ours {t['ours_keys']:,.0f}, Hudi's sink {t['hudi_keys']:,.0f}",
        flush=True,
    )


class _BatchSeconds(StreamingQueryListener):
    """Each micro-batch's duration with input, from Spark's query progress (delivered asynchronously)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def onQueryStarted(self, event: Any) -> None:
        pass

    def onQueryProgress(self, event: Any) -> None:
        if event.progress.numInputRows:
            self.seconds.append(event.progress.batchDuration / 1000)

    def onQueryIdle(self, event: Any) -> None:
        pass

    def onQueryTerminated(self, event: Any) -> None:
        pass

    def take(self, batches: int) -> list[float]:
        deadline = time.monotonic() + 10
        while len(self.seconds) < batches and time.monotonic() < deadline:
            time.sleep(0.1)
        taken, self.seconds = self.seconds, []
        return taken


def full_races(spark: SparkSession, lake: Lake, racers: int) -> dict[str, Any]:
    """Five classes of ``racers`` for a whole race, one raw object (a minute) per micro-batch,
    through ours and through Hudi's sink: the seconds of each batch."""
    rng = random.Random(3)
    start_ms = _this_hour_ms()  # the race's seconds fall in one raw hour
    config = JobConfig(lake_uri=lake.uri, local_root=lake.local_root, mode="once", max_files_per_trigger=1)
    rows = 0
    for minute in range(RACE_SECONDS // 60):
        events = _events(rng, start_ms, 5, racers, RACE_SECONDS, range(minute * 60 + 1, minute * 60 + 61))
        events += rng.sample(events, len(events) // 10)
        raw_zone.write_events(config.lake, events, 0, f"minute-{minute}")
        rows += len(events)
    batches = len(raw_zone.list_files(config.lake))
    listener = _BatchSeconds()
    spark.streams.addListener(listener)
    try:
        _ours(spark, config)
        ours = listener.take(batches)
        assert lake.local_root is not None
        _hudi_sink(spark, config, str(lake.local_root / "bench-full-races-hudi"))
        hudi = listener.take(batches)
    finally:
        spark.streams.removeListener(listener)
    return {"rows": rows, "racers": racers, "ours": ours, "hudi": hudi}


def _print_full_races(f: dict[str, Any]) -> None:
    ours, hudi = f["ours"], f["hudi"]
    print(
        f"   five full races at once (5 classes x {f['racers']:,} racers: {5 * f['racers']:,} events/s + 10 % "
        f"retries), {f['rows']:,} rows, one micro-batch per minute of the race:",
        flush=True,
    )
    for name, batches in (("ours, all three tables:", ours), ("Hudi's streaming sink, telemetry only:", hudi)):
        print(
            f"     {name:<39} batches {', '.join(f'{b:.1f}' for b in batches)} s; "
            f"headroom 60 s / slowest = {60 / max(batches):.1f}x"
        )
    print(f"     ours / Hudi, the whole race: {sum(hudi) / sum(ours):.2f}", flush=True)


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


def _stop_between_batches(query: StreamingQuery, timeout_s: float = 120.0) -> None:
    """Stops ``query`` once no micro-batch is running (or after ``timeout_s``): stopped mid-batch,
    Spark interrupts Hudi's commit and logs the query as failed, with a Java stack trace, though
    every figure is in."""
    deadline = time.monotonic() + timeout_s
    while query.status["isTriggerActive"] and time.monotonic() < deadline:
        time.sleep(0.2)
    query.stop()


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
        _stop_between_batches(query)
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
    batches = int(os.environ.get("ALLEYCAT_BENCH_LAKE_BATCHES", "4"))
    # The freshness pass runs the Firehose stand-in in this process: its transform would print a
    # JSON log line and an EMF document for every invocation between the figures. Its warnings
    # (an invalid record) still print.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    firehose_transform.OBSERVABILITY.logger.setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="alleycat-bench-lake-") as tmp:
        settings = stack.private_settings(Path(tmp), ALLEYCAT_SHARDS="1", ALLEYCAT_KINESIS_LIMITS="off")
        stack.up(settings)
        stack.apply_env(settings)
        spark = session.local_spark_session("alleycat-bench-lake")
        try:
            lake = dataclasses.replace(stack_lake(settings), uri="s3://bench-throughput")
            _print_throughput(throughput(spark, lake, batches))
            racers = int(os.environ.get("ALLEYCAT_BENCH_LAKE_FULL_RACERS", "1000"))
            full = dataclasses.replace(lake, uri="s3://bench-full-races")
            _print_full_races(full_races(spark, full, racers))
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
