"""Final results follow the rule: a different message for a second the real-time path already
counted, arriving in a later window, ends as the rule says (later deviceTimestamp wins) in the lake,
in the RESULT and BEST items and in the API, once the lake job commits (glue_jobs.reconcile)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from pyspark.sql import SparkSession

from alleycat.adapters import aws
from alleycat.adapters.race_items import decimal_output
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain import keys
from alleycat.domain.events import RaceKey, Telemetry
from alleycat.domain.scoring import score_races
from alleycat.settings import Settings
from consumers.leaderboards import result_rows
from glue_jobs import telemetry_job
from glue_jobs.config import JobConfig
from glue_jobs.hudi_tables import read_table
from infra.local import stack as local_stack
from infra.local.environment import stack_lake
from infra.local.lake import deliver_once
from infra.local.processes import ProcessTable, free_port
from infra.local.workers import api_spec

pytestmark = [pytest.mark.spark, pytest.mark.stack]

REPO = Path(__file__).resolve().parents[2]
CLASS = 4
SECONDS = 5


def _event(race_id: int, racer_id: int, second: int, cadence: float, t0: int, late_ms: int = 0) -> Telemetry:
    return Telemetry(
        str(uuid.uuid4()), "final" if second == SECONDS else "update", t0 + second * 1000 + late_ms, second,
        race_id, f"racer {racer_id}", racer_id, CLASS, cadence, 50.0,
    )  # fmt: skip


def _put(settings: Settings, events: list[Telemetry]) -> None:
    answer = aws.client("kinesis").put_records(
        StreamName=settings.stream,
        Records=[{"Data": ev.to_json(), "PartitionKey": f"{ev.race_id}-{ev.class_id}"} for ev in events],
    )
    assert answer["FailedRecordCount"] == 0


def _polled(settings: Settings) -> int:
    return sum(m["polled"] for m in local_stack.lag(settings)["mappings"] if m["mapping"] == "Aggregator")


def test_a_conflicting_message_in_a_later_window_ends_as_the_rule_says(
    own_stream: Settings, spark: SparkSession
) -> None:
    race_id = 6_900_000 + uuid.uuid4().int % 90_000
    racers = [race_id % 10_000 * 100 + i for i in range(3)]
    t0 = race_id * 300_000
    first = [_event(race_id, r, s, 60.0 + i, t0) for i, r in enumerate(racers) for s in range(1, SECONDS + 1)]
    # racer 0's second 2 again: a later deviceTimestamp and a higher cadence, so the rule's total differs
    twin = _event(race_id, racers[0], 2, 95.5, t0, late_ms=400)
    rule = score_races([*first, twin])[RaceKey(race_id, CLASS)].racers
    assert rule[racers[0]].total_milli != score_races(first)[RaceKey(race_id, CLASS)].racers[racers[0]].total_milli

    env = {**os.environ, "ALLEYCAT_LIVE_URL": f"http://127.0.0.1:{free_port()}/internal/live"}
    consumer = subprocess.Popen(
        [sys.executable, "-m", "alleycat.cli", "consume"], cwd=REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    table = DynamoRaceTable.from_settings(own_stream)
    try:
        _put(own_stream, first)
        deadline = time.monotonic() + 90
        while len(result_rows(table, race_id, CLASS, 10)) < len(racers):
            assert time.monotonic() < deadline, "the real-time path wrote no final results"
            time.sleep(0.5)
        time.sleep(6)  # past the 5 s tumbling window: the twin arrives in a later one
        _put(own_stream, [twin])
        while _polled(own_stream) < len(first) + 1:
            assert time.monotonic() < deadline, "the consumer did not read the twin"
            time.sleep(0.5)
        time.sleep(7)  # its window closes
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(30)
    before = {r["racerId"]: r["totalOutput"] for r in result_rows(table, race_id, CLASS, 10)}
    print(f"\nreal-time RESULT of racer 0 before the lake: {before[racers[0]]}, rule: {rule[racers[0]].total_output}")

    deliver_once(own_stream)
    lake = stack_lake(own_stream)
    config = JobConfig(lake_uri=lake.uri, local_root=lake.local_root, mode="once", results_table=own_stream.table)
    telemetry_job.run(spark, config)

    rows = read_table(spark, config.table("race_results")).where(f"race_id = {race_id} AND class_id = {CLASS}")
    assert {row.racer_id: row.total_milli for row in rows.collect()} == {r: s.total_milli for r, s in rule.items()}
    results = {r["racerId"]: r["totalOutput"] for r in result_rows(table, race_id, CLASS, 10)}
    assert results == {r: s.total_output for r, s in rule.items()}
    for racer_id, score in rule.items():
        best = table.item(keys.racer_pk(racer_id), keys.best_sk(CLASS))
        assert best is not None and best["totalOutput"] == decimal_output(score.total_milli)

    processes = ProcessTable(own_stream.home)
    processes.start(api_spec(own_stream))
    try:
        board = httpx.get(f"{own_stream.api_url}/classes/{CLASS}/races/{race_id}/leaderboard", timeout=10).json()
    finally:
        processes.stop("api")
    assert {e["racerId"]: e["totalOutput"] for e in board["entries"]} == {r: s.total_output for r, s in rule.items()}
