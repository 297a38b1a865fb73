"""Both serving paths agree: for every racer of a simulated race, the leaderboard the API serves
(real-time path: Kinesis -> consumer -> DynamoDB) equals ``race_results`` queried with the local SQL
engine (lake path: Kinesis -> Firehose -> Glue job -> Hudi), rank for rank and value for value."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pyspark.sql import SparkSession

from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain.events import InvalidEvent, parse_event
from alleycat.settings import Settings
from consumers.leaderboards import result_rows
from glue_jobs import telemetry_job
from glue_jobs.config import JobConfig
from infra.local.environment import stack_lake
from infra.local.lake import deliver_once
from infra.local.processes import ProcessTable, free_port
from infra.local.workers import api_spec
from tests.conftest import Athena

pytestmark = [pytest.mark.spark, pytest.mark.stack]

REPO = Path(__file__).resolve().parents[2]
RACERS = 12


def _simulate(out: Path) -> set[tuple[int, int]]:
    start = datetime.fromtimestamp(1_950_000_000 + 300 * (int(time.time()) % 100_000), UTC).isoformat()
    done = subprocess.run(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--seed", "23", "--start", start, "--classes", "2,5",
         "--racers", str(RACERS), "--race-seconds", "40", "--speed", "0", "--duplicate-rate", "0.1",
         "--late-rate", "0.05", "--malformed-rate", "0.02", "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    races: set[tuple[int, int]] = set()
    for line in out.read_bytes().splitlines():
        with contextlib.suppress(InvalidEvent):
            race = parse_event(line).race
            races.add((race.race_id, race.class_id))
    return races


def _api_leaderboard(client: httpx.Client, race_id: int, class_id: int) -> list[dict]:
    rows: list[dict] = []
    cursor = None
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}  # several pages per race
        body = client.get(f"/classes/{class_id}/races/{race_id}/leaderboard", params=params).raise_for_status().json()
        rows += body["entries"]
        cursor = body.get("nextCursor")
        if not cursor:
            return rows


def test_api_leaderboard_equals_sql_race_results(
    own_stream: Settings, spark: SparkSession, athena: Athena, tmp_path: Path
) -> None:
    races = _simulate(tmp_path / "records.jsonl")
    assert len(races) == 2

    # real-time path: live updates go to a closed port (dropped: they are best effort)
    env = {**os.environ, "ALLEYCAT_LIVE_URL": f"http://127.0.0.1:{free_port()}/internal/live"}
    consumer = subprocess.Popen(
        [sys.executable, "-m", "alleycat.cli", "consume"], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        table = DynamoRaceTable.from_settings(own_stream)
        while sum(len(result_rows(table, r, c, 1000)) for r, c in races) < len(races) * RACERS:
            assert time.monotonic() < deadline, "the real-time path did not write every final result"
            time.sleep(1)
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(30)

    # lake path
    deliver_once(own_stream)
    own_lake = stack_lake(own_stream)
    telemetry_job.run(spark, JobConfig(lake_uri=own_lake.uri, local_root=own_lake.local_root, mode="once"))

    processes = ProcessTable(own_stream.home)
    processes.start(api_spec(own_stream))
    try:
        with httpx.Client(base_url=own_stream.api_url, timeout=10) as client:
            for race_id, class_id in sorted(races):
                api = [
                    (e["rank"], e["racerId"], e["name"], e["totalOutput"], e["avgOutput"], e["maxOutput"],
                     e["seconds"], e["finished"])
                    for e in _api_leaderboard(client, race_id, class_id)
                ]  # fmt: skip
                sql = athena.query(
                    own_lake,
                    "SELECT row_number() OVER (ORDER BY total_milli DESC, racer_id) AS rank, racer_id, name, "
                    "total_output, avg_output, max_output, seconds, finished FROM alleycat.race_results "
                    f"WHERE race_id = {race_id} AND class_id = {class_id} ORDER BY rank",
                ).to_pylist()
                lake = [tuple(row.values()) for row in sql]
                assert len(api) == RACERS
                assert api == lake, f"race {race_id} class {class_id}"
    finally:
        processes.stop("api")
