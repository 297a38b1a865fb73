"""End to end on the local stack: the simulator puts races with duplicates, late and malformed
events on the stream -> the local Firehose -> the Glue job -> the Hudi tables, read back with
hudi-rs, equal alleycat.domain.scoring over the valid events; malformed ones are all under
processing-failed."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from alleycat.domain.events import InvalidEvent, RaceKey, Telemetry, parse_event
from alleycat.domain.scoring import score_races
from alleycat.lake.catalog import table
from alleycat.settings import Settings
from glue_jobs import bests_export, snapshots, telemetry_job
from glue_jobs.config import JobConfig
from infra.local import lake_contents
from infra.local.environment import stack_lake
from infra.local.lake import deliver_once
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

pytestmark = [pytest.mark.spark, pytest.mark.stack]


def _simulate(out: Path) -> list[bytes]:
    result = subprocess.run(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--seed", "11", "--classes", "1,2", "--racers", "4",
         "--race-seconds", "30", "--races", "2", "--speed", "0", "--duplicate-rate", "0.1", "--late-rate", "0.1",
         "--malformed-rate", "0.05", "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out.read_bytes().splitlines()


def test_stream_to_hudi_equals_the_domain_and_malformed_events_are_kept(
    own_stream: Settings, spark: SparkSession, tmp_path: Path
) -> None:
    records = _simulate(tmp_path / "records.jsonl")
    valid: list[Telemetry] = []
    malformed: list[bytes] = []
    for record in records:
        try:
            valid.append(parse_event(record))
        except InvalidEvent:
            malformed.append(record)
    assert malformed and len(valid) > len({ev.uuid for ev in valid}), "the run has malformed events and duplicates"

    assert deliver_once(own_stream) == len(records)
    lake = stack_lake(own_stream)
    telemetry_job.run(spark, JobConfig(lake_uri=lake.uri, local_root=lake.local_root, mode="once"))

    def rows(name: str) -> list[dict]:
        return snapshots.read(table(lake, name)).to_pylist()

    assert telemetry_of(rows("telemetry")) == expected_telemetry(valid)
    results = results_of(rows("race_results"))
    assert results == expected_results(valid)
    assert standings_of(rows("race_results")) == expected_standings(valid)  # per (race_id, class_id)
    bests = expected_bests(valid)
    assert bests_of(rows("racer_bests")) == bests
    for class_id in (1, 2):
        exported = bests_export.read(lake, class_id)
        assert sum(len(seconds) for seconds in exported.values()) == sum(1 for k in bests if k[1] == class_id)

    failed_dir = Path(lake.resolve(lake.layout.processing_failed))
    failed = [json.loads(line) for f in failed_dir.rglob("*") if f.is_file() for line in f.read_text().splitlines()]
    assert sorted(base64.b64decode(doc["rawData"]) for doc in failed) == sorted(malformed)

    counts = lake_contents.row_counts(own_stream)
    assert counts == {
        "telemetry": len(expected_telemetry(valid)),
        "race_results": len(results),
        "racer_bests": len(bests),
    }
    standings = {key: race.standings() for key, race in score_races(valid).items()}
    latest = max(ev.race_id for ev in valid)
    assert {RaceKey(latest, 1), RaceKey(latest, 2)} <= set(standings)  # both classes race in the slot

    def top_of(key: RaceKey, n: int = 3) -> list[tuple]:
        return [(i, s.racer_id, s.class_id, s.total_output) for i, s in enumerate(standings[key][:n], start=1)]

    def got(top: list[dict]) -> list[tuple]:
        return [(t["rank"], t["racerId"], t["classId"], t["totalOutput"]) for t in top]

    key, top = lake_contents.top_of_race(own_stream)  # default: the latest race of the lowest class
    assert key == RaceKey(latest, 1) and got(top) == top_of(key)
    key, top = lake_contents.top_of_race(own_stream, latest, class_id=2)
    assert key == RaceKey(latest, 2) and got(top) == top_of(key)
    assert [t["classId"] for t in top] == [2, 2, 2]
    first = min(ev.race_id for ev in valid)
    key, top = lake_contents.top_of_race(own_stream, first)  # a slot: its lowest class
    assert key == RaceKey(first, 1) and got(top) == top_of(key)
    key, top = lake_contents.top_of_race(own_stream, class_id=2, n=10)  # a class: its latest race, every racer
    assert key == RaceKey(latest, 2) and got(top) == top_of(key, 10) and len(top) == 4
    assert lake_contents.top_of_race(own_stream, latest, class_id=5) == (None, [])  # no such race

    status = subprocess.run(
        [sys.executable, "-m", "alleycat.cli", "lake", "status", "--json"], capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["raw"]["files"] > 0 and report["processingFailedFiles"] > 0
    assert all(report["tables"][name]["commits"] >= 1 for name in ("telemetry", "race_results", "racer_bests"))
