"""End to end on the local stack: simulator -> Kinesis -> consumer (a subprocess, killed -9
halfway and restarted) -> LIVE, RESULT, BEST and CLASS items equal to the reference computation."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from alleycat.adapters.race_items import decimal_output
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain import keys
from alleycat.domain.events import InvalidEvent, RaceKey, parse_event
from alleycat.domain.scoring import RaceScores, score_races
from alleycat.settings import Settings
from consumers.leaderboards import result_rows
from infra.local.processes import free_port

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
CLASSES = "1,2,3,4,5,6"
RACERS = 5  # per class: 30 racers


def simulate(out: Path, seed: int, start: str, speed: float) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--seed", str(seed), "--start", start,
         "--classes", CLASSES, "--racers", str(RACERS), "--race-seconds", "60", "--speed", str(speed),
         "--duplicate-rate", "0.1", "--late-rate", "0.05", "--malformed-rate", "0.02", "--out", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def output(proc: subprocess.Popen) -> str:
    return proc.stdout.read() if proc.stdout else ""


def consumer(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as fh:
        return subprocess.Popen(
            [sys.executable, "-m", "alleycat.cli", "--log-level", "INFO", "consume"],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip


def expected(*files: Path) -> dict[RaceKey, RaceScores]:
    events = []
    for path in files:
        for line in path.read_bytes().splitlines():
            with contextlib.suppress(InvalidEvent):
                events.append(parse_event(line))
    return score_races(events)


def mismatches(table: DynamoRaceTable, races: dict[RaceKey, RaceScores]) -> list[str]:
    """Every difference between DynamoDB and the reference computation (empty when equal)."""
    problems: list[str] = []
    for (race_id, class_id), race in races.items():
        live = table.read_live(race_id, class_id)
        if live is None:
            problems.append(f"race {race_id} class {class_id}: no LIVE item")
            continue
        if set(live.race.racers) != set(race.racers):
            problems.append(f"race {race_id} class {class_id}: LIVE racers {sorted(live.race.racers)}")
        for racer_id, want in race.racers.items():
            got = live.race.racers.get(racer_id)
            fields = ("total_milli", "max_milli", "seconds", "last_second", "finished", "name", "class_id")
            if got is None or any(getattr(got, f) != getattr(want, f) for f in fields):
                problems.append(f"race {race_id} class {class_id} racer {racer_id}: LIVE {got} != {want}")
        rows = result_rows(table, race_id, class_id, 10_000)
        want_rows = [
            (s.racer_id, s.name, s.total_output, s.avg_output, s.max_output, s.seconds) for s in race.standings()
        ]
        got_rows = [
            (r["racerId"], r["name"], r["totalOutput"], r["avgOutput"], r["maxOutput"], r["seconds"]) for r in rows
        ]
        if got_rows != want_rows:
            problems.append(
                f"race {race_id} class {class_id}: RESULT rows differ ({len(got_rows)} vs {len(want_rows)})"
            )
    return problems


def test_realtime_path_end_to_end_with_a_crash(stack: Settings, tmp_path: Path) -> None:
    race_table = DynamoRaceTable.from_settings(stack)
    env = {**os.environ, "ALLEYCAT_LIVE_URL": f"http://127.0.0.1:{free_port()}/internal/live"}
    log = tmp_path / "consumer.log"
    # two races per class, far from other tests' raceIds: the class bests are the max over both
    slot = 300 * (int(time.time()) % 100_000)
    starts = [datetime.fromtimestamp(1_900_000_000 + slot + i * 300, UTC).isoformat() for i in range(2)]
    first, second = tmp_path / "race-a.jsonl", tmp_path / "race-b.jsonl"

    proc = consumer(env, log)
    try:
        sim = simulate(first, 11, starts[0], speed=0)
        assert sim.wait(60) == 0, output(sim)
        sim = simulate(second, 12, starts[1], speed=10)  # ~6 s of sending, late records up to 18 s after
        time.sleep(4)
        proc.send_signal(signal.SIGKILL)  # crash mid-window, mid-race
        proc.wait(10)
        proc = consumer(env, log)  # resumes from the checkpoints
        assert sim.wait(90) == 0, output(sim)

        races = expected(first, second)
        # two slots x six classes: twelve races of RACERS racers each
        assert len(races) == 12 and all(len(r.racers) == RACERS for r in races.values())
        assert {key.class_id for key in races} == set(range(1, 7)) and len({key.race_id for key in races}) == 2
        deadline = time.monotonic() + 60
        while (problems := mismatches(race_table, races)) and time.monotonic() < deadline:
            time.sleep(1)
        assert problems == [], "\n".join(problems[:10]) + "\n" + log.read_text()[-3000:]
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
    assert code == 0  # a graceful stop

    # class bests: each racer's best over the two races
    table = race_table.table
    for class_id in range(1, 7):
        racers = {rid: s for race in races.values() for rid, s in race.racers.items() if s.class_id == class_id}
        items: list[dict[str, Any]] = table.query(
            IndexName="GSI1",
            KeyConditionExpression=Key("GSI1PK").eq(keys.best_board_pk(class_id)),
            ScanIndexForward=False,
        )["Items"]
        mine = {int(i["racerId"]): i for i in items if int(i["racerId"]) in racers}
        assert set(mine) == set(racers)
        for racer_id, item in mine.items():
            best = max(race.racers[racer_id].total_milli for race in races.values() if racer_id in race.racers)
            assert item["totalOutput"] == decimal_output(best)
        for race_id in {key.race_id for key in races}:
            cls = race_table.item(keys.class_pk(class_id), keys.race_sk(race_id))
            assert cls is not None and cls["status"] == "completed" and int(cls["racers"]) == RACERS
    for race_id in {key.race_id for key in races}:  # the leaderboard command finds every class of a slot
        assert race_table.race_classes(race_id) == list(range(1, 7))

    # the invalid records were dead-lettered, and checkpoints exist for every shard
    assert list((stack.dead_letter_dir / "aggregator").glob("*.jsonl"))
    assert len(list((stack.home / "esm" / "Aggregator").glob("shardId-*.json"))) == stack.shards
