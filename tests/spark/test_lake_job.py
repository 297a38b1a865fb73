"""The Glue job on local Spark + Hudi: the tables equal the domain's computation, read back with
both Spark and hudi-rs, whatever the duplicates, rivals, late messages, replays and batching."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from alleycat.domain.events import RaceKey, Telemetry, output_milli
from glue_jobs import bests_export, raw_zone, snapshots
from glue_jobs import telemetry_job as job_module
from glue_jobs.batch import process_batch
from glue_jobs.config import JobConfig
from glue_jobs.hudi_tables import read_table
from glue_jobs.sources import raw_table_ddl
from glue_jobs.transforms import output_milli as spark_output_milli
from tests.lake_events import (
    expected_bests,
    expected_results,
    expected_standings,
    expected_telemetry,
    race_events,
    standings_of,
    with_faults,
)

pytestmark = pytest.mark.spark


def _raw_frame(spark: SparkSession, events: list[Telemetry], job: JobConfig):
    """Write ``events`` to the raw zone (one object) and read them back as Spark does."""
    raw_zone.write_events(job.lake, events, arrival_ms=1, object_name=f"batch-{random.getrandbits(32):08x}")
    return spark.read.schema(raw_table_ddl(job)).parquet(job.table("raw_telemetry").path)


def _raw_object(spark: SparkSession, events: list[Telemetry], job: JobConfig):
    """Write ``events`` to the raw zone and read back only that object (a micro-batch of new files)."""
    uris = raw_zone.write_events(job.lake, events, arrival_ms=1, object_name=f"batch-{random.getrandbits(32):08x}")
    return (
        spark.read.option("basePath", job.table("raw_telemetry").path)
        .schema(raw_table_ddl(job))
        .parquet(*(job.lake.resolve(uri) for uri in uris))
    )


def _telemetry(job: JobConfig) -> dict[tuple[int, int, int], tuple]:
    rows = snapshots.read(job.table("telemetry")).to_pylist()
    keys = [(r["race_id"], r["racer_id"], r["second"]) for r in rows]
    assert len(keys) == len(set(keys)), "one row per data point"
    return {(r["race_id"], r["racer_id"], r["second"]): (r["uuid"], r["output_milli"]) for r in rows}


def _results(job: JobConfig) -> dict[tuple[int, int], tuple]:
    rows = snapshots.read(job.table("race_results")).to_pylist()
    return {
        (r["race_id"], r["racer_id"]): (
            r["class_id"],
            r["name"],
            r["total_output"],
            r["avg_output"],
            r["max_output"],
            r["seconds"],
            r["last_second"],
            r["finished"],
        )
        for r in rows
    }


def _bests(job: JobConfig) -> dict[tuple[int, int, int], int]:
    rows = snapshots.read(job.table("racer_bests")).to_pylist()
    return {(r["racer_id"], r["class_id"], r["second"]): r["output_milli"] for r in rows}


def _rows(table: pa.Table, drop: tuple[str, ...] = ()) -> list[tuple]:
    names = [n for n in table.column_names if n not in drop]
    return sorted(tuple(r[n] for n in names) for r in table.select(names).to_pylist())


def _assert_matches_domain(job: JobConfig, events: list[Telemetry]) -> None:
    assert _telemetry(job) == expected_telemetry(events)
    assert _results(job) == expected_results(events)
    assert _bests(job) == expected_bests(events)
    standings = expected_standings(events)  # a race is (race_id, class_id): classes of a slot never merge
    assert standings_of(snapshots.read(job.table("race_results")).to_pylist()) == standings


def test_spark_output_milli_equals_the_domain(spark: SparkSession) -> None:
    rng = random.Random(7)
    pairs = [(rng.uniform(0, 250), rng.uniform(0, 100)) for _ in range(2000)]
    pairs += [(round(rng.uniform(30, 90), 1), float(rng.randrange(33, 87))) for _ in range(2000)]
    pairs += [(0.0, 0.0), (250.0, 100.0), (0.05, 0.5), (12.345, 67.891)]
    df = spark.createDataFrame(pairs, "cadence double, resistance double")
    got = df.select("cadence", "resistance", spark_output_milli(df.cadence, df.resistance).alias("m")).collect()
    assert [(r.cadence, r.resistance, r.m) for r in got] == [(c, r, output_milli(c, r)) for c, r in pairs]


def test_batch_equals_domain_in_spark_and_hudi_rs_and_replay_changes_nothing(spark: SparkSession, job) -> None:
    events = with_faults(race_events(seed=1), seed=2)
    races = expected_standings(events)
    assert len({key.race_id for key in races}) < len(races)  # classes share each slot's race_id
    raw = _raw_frame(spark, events, job)
    process_batch(raw, 0, job)

    _assert_matches_domain(job, events)
    for name in ("telemetry", "race_results", "racer_bests"):
        table = job.table(name)
        spark_rows = sorted(tuple(row) for row in read_table(spark, table).collect())
        assert spark_rows == _rows(snapshots.read(table))
    export = bests_export.read(job.lake, 1)
    assert export == {
        str(racer): {str(s): m / 1000 for (r, c, s), m in sorted(expected_bests(events).items()) if r == racer}
        for racer in sorted({r for (r, c, _) in expected_bests(events) if c == 1})
    }

    before = {n: snapshots.read(job.table(n)) for n in ("telemetry", "race_results", "racer_bests")}
    commits = len(snapshots.commits(job.table("telemetry")))
    process_batch(raw, 1, job)  # the same batch again (a replay after a crash)
    assert len(snapshots.commits(job.table("telemetry"))) == commits + 1
    for name, table in before.items():
        drop = ("updated_at",) if name == "race_results" else ()
        assert _rows(snapshots.read(job.table(name)), drop) == _rows(table, drop)
    props = (Path(job.table("telemetry").path) / ".hoodie" / "hoodie.properties").read_text()
    assert "hoodie.table.version=6" in props
    assert "hoodie.table.precombine.field=event_order" in props


def test_a_late_older_message_never_overwrites_a_newer_one(spark: SparkSession, job) -> None:
    events = race_events(seed=3, races=1, classes=(1,), racers=2, seconds=5)
    newer = events[2]
    older = msgspec.structs.replace(
        newer, uuid="00000000-0000-4000-8000-000000000000", device_timestamp=newer.device_timestamp - 5000, cadence=90.0
    )
    tie_smaller_uuid = msgspec.structs.replace(older, device_timestamp=newer.device_timestamp)
    process_batch(_raw_frame(spark, events, job), 0, job)
    assert _telemetry(job) == expected_telemetry(events)

    for late in (older, tie_smaller_uuid):  # each in its own later batch
        process_batch(_raw_frame(spark, [late], job), 1, job)
        assert _telemetry(job)[newer.key] == (newer.uuid, newer.output_milli)
        assert _results(job) == expected_results(events)

    newest = msgspec.structs.replace(
        older, uuid="ffffffff-ffff-4fff-bfff-ffffffffffff", device_timestamp=newer.device_timestamp
    )
    process_batch(_raw_frame(spark, [newest], job), 2, job)
    everything = [*events, older, tie_smaller_uuid, newest]
    assert _telemetry(job)[newer.key] == (newest.uuid, newest.output_milli)
    _assert_matches_domain(job, everything)

    # newer still, with a lower output: the best at that second must come down
    lower = msgspec.structs.replace(
        newest, uuid="ffffffff-ffff-4fff-bfff-fffffffffff0", device_timestamp=newer.device_timestamp + 1, cadence=0.0
    )
    process_batch(_raw_frame(spark, [lower], job), 3, job)
    assert _telemetry(job)[newer.key] == (lower.uuid, lower.output_milli)
    _assert_matches_domain(job, [*everything, lower])
    assert bests_export.read(job.lake, 1)[str(lower.racer_id)][str(lower.second)] == lower.output_milli / 1000


def test_a_batch_recomputes_exactly_the_races_it_touched(spark: SparkSession, job) -> None:
    """Races are (race_id, class_id): a batch with points of (r0, class 1) and (r1, class 2) recomputes
    those two races, not the other class of either slot."""
    events = race_events(seed=6, races=2, classes=(1, 2), racers=3, seconds=8)
    process_batch(_raw_frame(spark, events, job), 0, job)
    _assert_matches_domain(job, events)

    def updated() -> dict[RaceKey, set[int]]:
        by_race: dict[RaceKey, set[int]] = {}
        for r in snapshots.read(job.table("race_results")).to_pylist():
            by_race.setdefault(RaceKey(r["race_id"], r["class_id"]), set()).add(r["updated_at"])
        return by_race

    before = updated()
    slots = sorted({ev.race_id for ev in events})
    touched = {RaceKey(slots[0], 1), RaceKey(slots[1], 2)}
    rivals = [
        msgspec.structs.replace(
            next(ev for ev in events if ev.race == key and ev.second == 3),
            uuid=f"ffffffff-ffff-4fff-bfff-{n:012d}",
            device_timestamp=key.race_id * 300_000 + 60_000,  # newer than every message of the race
            cadence=89.5,
        )
        for n, key in enumerate(sorted(touched))
    ]
    batch = _raw_object(spark, rivals, job)
    assert batch.count() == 2
    process_batch(batch, 1, job)
    _assert_matches_domain(job, [*events, *rivals])
    after = updated()
    assert set(after) == set(before) == {RaceKey(r, c) for r in slots for c in (1, 2)}
    for key in after:
        if key in touched:
            assert len(after[key]) == 1 and after[key] != before[key], key  # recomputed
        else:
            assert after[key] == before[key], key  # the other class of the slot is left alone


def test_streaming_in_micro_batches_equals_backfill_and_a_restart_counts_nothing_twice(
    spark: SparkSession, job, s3_root
) -> None:
    events = with_faults(race_events(seed=4, races=2, classes=(1, 2, 3), racers=3, seconds=15), seed=5)
    deliveries = [events[i::3] for i in range(3)]  # three Firehose objects, messages spread across them
    for n, delivery in enumerate(deliveries[:2]):
        raw_zone.write_events(job.lake, delivery, arrival_ms=n, object_name=f"delivery-{n}")
    streaming = dataclasses.replace(job, max_files_per_trigger=2)
    job_module.run(spark, streaming)
    commits = len(snapshots.commits(job.table("telemetry")))
    job_module.run(spark, streaming)  # restart with nothing new: no batch, no commit
    assert len(snapshots.commits(job.table("telemetry"))) == commits
    raw_zone.write_events(job.lake, deliveries[2], arrival_ms=2, object_name="delivery-2")
    job_module.run(spark, streaming)  # restart: only the new object is processed
    _assert_matches_domain(job, events)

    backfilled = dataclasses.replace(job, lake_uri="s3://lake-backfill", mode="backfill")
    for n, delivery in enumerate(deliveries):
        raw_zone.write_events(backfilled.lake, delivery, arrival_ms=n, object_name=f"delivery-{n}")
    job_module.run(spark, backfilled)
    for name in ("telemetry", "race_results", "racer_bests"):
        drop = ("updated_at",) if name == "race_results" else ()
        assert _rows(snapshots.read(backfilled.table(name)), drop) == _rows(snapshots.read(job.table(name)), drop)
    for class_id in (1, 2, 3):
        assert bests_export.read(backfilled.lake, class_id) == bests_export.read(job.lake, class_id)
