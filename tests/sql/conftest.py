"""A seeded simulated lake for the SQL tests.

``sim`` is what the stream delivered: the simulator's events (producers.simulator), delivered with
seeded latency, retries (the same message again), late deliveries and malformed records
(producers.faults.malform). ``raw_lake`` writes it as Firehose does: RAW_SCHEMA Parquet under
``dt=/hour=/`` and processing-failed JSON lines, in a lake whose local root is the session's own
directory (``lake_root``). ``hudi_lake`` runs the Glue job (glue_jobs.telemetry_job, a backfill)
over it once per session to build the three Hudi tables.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alleycat.domain.events import RACE_MS, Telemetry
from alleycat.lake.layout import LakeLayout
from alleycat.lake.location import Lake
from alleycat.lake.schema import RAW_SCHEMA
from glue_jobs import session, telemetry_job
from glue_jobs.config import JobConfig
from producers.faults import MALFORMED_KINDS, malform
from producers.simulator import SimConfig, Simulator

LAKE_URI = "s3://test-lake"
START_MS = int(dt.datetime(2024, 5, 1, 23, 50, tzinfo=dt.UTC).timestamp() * 1000)  # races cross midnight


@dataclass(frozen=True)
class Delivery:
    """One valid message as Firehose delivered it."""

    event: Telemetry
    arrival_ms: int


@dataclass(frozen=True)
class Sim:
    events: list[Telemetry]  # what the bikes sent, once each
    deliveries: list[Delivery]  # what the raw table holds
    malformed: list[tuple[int, bytes]]  # (arrival ms, bytes) of each record the transform rejected
    late_ms: int = 60_000


def simulate(seed: int = 7) -> Sim:
    config = SimConfig(start_ms=START_MS, seed=seed, classes=(1, 2), racers=5, race_seconds=130, races=3)
    events = [ev for tick in Simulator(config).ticks() for ev in tick.events]
    rng = random.Random(seed)
    deliveries: list[Delivery] = []
    malformed: list[tuple[int, bytes]] = []
    for ev in events:
        arrival = ev.device_timestamp + rng.randrange(50, 900)
        if rng.random() < 0.03:
            arrival += rng.randrange(90_000, 600_000)  # late: minutes behind
        deliveries.append(Delivery(ev, arrival))
        if rng.random() < 0.05:  # a retry: the same message again
            deliveries.append(Delivery(ev, arrival + rng.randrange(1_000, 5_000)))
        if rng.random() < 0.02:
            malformed.append((arrival, malform(ev, rng.choice(MALFORMED_KINDS), rng)))
    return Sim(events, deliveries, malformed)


def _utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def write_raw(sim: Sim, layout: LakeLayout, root: Path) -> None:
    parts: dict[tuple[str, str], list[Delivery]] = defaultdict(list)
    for d in sim.deliveries:
        when = _utc(d.event.device_timestamp)
        parts[(f"{when:%Y-%m-%d}", f"{when:%H}")].append(d)
    for (day, hour), rows in parts.items():
        evs = [r.event for r in rows]
        columns = {
            "uuid": [e.uuid for e in evs],
            "event": [e.event for e in evs],
            "device_timestamp": [e.device_timestamp for e in evs],
            "second": [e.second for e in evs],
            "race_id": [e.race_id for e in evs],
            "name": [e.name for e in evs],
            "racer_id": [e.racer_id for e in evs],
            "class_id": [e.class_id for e in evs],
            "cadence": [e.cadence for e in evs],
            "resistance": [e.resistance for e in evs],
            "output": [e.output for e in evs],
            "arrival_timestamp": [r.arrival_ms for r in rows],
            "shard_id": ["shardId-000000000000"] * len(rows),
            "sequence_number": [str(i) for i in range(len(rows))],
        }
        directory = root / layout.raw.removeprefix("s3://") / f"dt={day}" / f"hour={hour}"
        directory.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(columns, schema=RAW_SCHEMA), directory / "part-0.parquet")
    failed_dir = root / layout.processing_failed.removeprefix("s3://") / "2024" / "05" / "02" / "00"
    failed_dir.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "attemptsMade": 1,
            "arrivalTimestamp": ms,
            "errorCode": "Lambda.ProcessingFailed",
            "errorMessage": "The Lambda function returned result ProcessingFailed for the record.",
            "attemptEndingTimestamp": ms + 100,
            "rawData": base64.b64encode(data).decode(),
            "lambdaArn": "arn:aws:lambda:us-east-1:000000000000:function:FirehoseTransform",
        }
        for ms, data in sim.malformed
    ]
    (failed_dir / "alleycat-raw-1-2024-05-02-00-00-00-x").write_text("".join(json.dumps(r) + "\n" for r in records))


def race_day(race_id: int) -> str:
    """The ``dt`` of a race's rows in the Hudi tables: its UTC start date."""
    return f"{_utc(race_id * RACE_MS):%Y-%m-%d}"


@pytest.fixture(scope="session")
def sim() -> Sim:
    return simulate()


@pytest.fixture(scope="session")
def lake_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("s3")


@pytest.fixture(scope="session")
def raw_lake(sim: Sim, lake_root: Path) -> Lake:
    write_raw(sim, LakeLayout(LAKE_URI), lake_root)
    return Lake(LAKE_URI, lake_root)


@pytest.fixture(scope="session")
def hudi_lake(raw_lake: Lake) -> Iterator[Lake]:
    """The raw lake plus the three Hudi tables, built from it by the Glue job (one backfill batch)."""
    spark = session.local_spark_session("alleycat-sql-tests")
    try:
        config = JobConfig(lake_uri=raw_lake.uri, local_root=raw_lake.local_root, mode="backfill", export_bests=False)
        telemetry_job.run(spark, config)
        yield raw_lake
    finally:
        spark.stop()
