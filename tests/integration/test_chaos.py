"""Chaos on the local stack: simulated races with duplicates, late and malformed records while
kinesalite, DynamoDB Local, the consumer, the local Firehose, the API and the lake job (Spark + Hudi)
are killed with SIGKILL, in turn, at random moments, and brought back as ``alleycat up`` does
(start what is not running, wait until healthy), right after the kill: a restarted server must
cope with its port still being released. The lake job is killed during a Hudi commit: the test
watches the tables' timelines and kills it while an instant is in flight (the commit then never
completes; the restarted job rolls it back and replays the batch).

At the end LIVE and RESULT in DynamoDB, the API's leaderboards and the Hudi tables (telemetry,
race_results, racer_bests) equal the reference computation. Prints per component its kills and
seconds to recover, and per output the events lost and counted twice over the whole run.
``make test`` runs one round; ``make chaos`` sets ALLEYCAT_CHAOS_ROUNDS (default there: 3). Each
round kills every component once; the lake job's restart (Spark) is the round's longest part.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from alleycat.adapters import aws
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain.events import InvalidEvent, RaceKey, Telemetry, parse_event
from alleycat.domain.scoring import RaceScores, score_races
from alleycat.lake.catalog import table as lake_table
from alleycat.settings import Settings
from glue_jobs import snapshots
from infra.local import stack as local_stack
from infra.local.environment import stack_lake
from infra.local.lake import job_config
from infra.local.processes import ProcessSpec, ProcessTable
from infra.local.workers import api_spec, consumer_spec, firehose_spec, lake_spec
from tests.integration.test_realtime_e2e import mismatches
from tests.lake_events import (
    bests_of,
    expected_bests,
    expected_results,
    expected_telemetry,
    results_of,
    telemetry_of,
)

pytestmark = [pytest.mark.stack, pytest.mark.spark]
REPO = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("ALLEYCAT_CHAOS_ROUNDS", "1"))
RACERS = 5  # per class
SERVERS = ("kinesis", "dynamodb")
ORDER = ("kinesis", "dynamodb", "consumer", "firehose", "api", "lake")  # the lake last: it waits for a commit
HUDI_TABLES = ("telemetry", "race_results", "racer_bests")
_IN_FLIGHT = re.compile(r"^(\d+)\.inflight$")  # a commit writing its files (after .commit.requested)


@dataclass
class Component:
    name: str
    kills: int = 0
    recoveries: list[float] = field(default_factory=list)
    note: str = ""


def _simulate(out: Path, slot: int, seconds: int, classes: str) -> subprocess.Popen[str]:
    """A race per class in its own 5-minute slot (``slot`` apart from the others of this run)."""
    base = 1_960_000_000 + 3_000 * (int(time.time()) % 100_000)
    start = datetime.fromtimestamp(base + 300 * slot, UTC).isoformat()
    return subprocess.Popen(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--seed", str(31 + slot), "--start", start,
         "--classes", classes, "--racers", str(RACERS), "--race-seconds", str(seconds), "--speed", "10",
         "--duplicate-rate", "0.1", "--late-rate", "0.05", "--malformed-rate", "0.02", "--out", str(out)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _valid(paths: list[Path]) -> list[Telemetry]:
    events = []
    for path in paths:
        for line in path.read_bytes().splitlines():
            with contextlib.suppress(InvalidEvent):
                events.append(parse_event(line))
    return events


def _lost_and_twice(table: DynamoRaceTable, races: dict[RaceKey, RaceScores]) -> tuple[int, int]:
    """Seconds missing and seconds (or output) counted more than once in LIVE, against the reference."""
    lost = twice = 0
    for (race_id, class_id), race in races.items():
        live = table.read_live(race_id, class_id)
        for racer_id, want in race.racers.items():
            got = live.race.racers.get(racer_id) if live else None
            seen = got.seconds if got else 0
            lost += max(0, want.seconds - seen)
            twice += max(0, seen - want.seconds) + int(got is not None and got.total_milli > want.total_milli)
    return lost, twice


@dataclass
class LakeCheck:
    """The Hudi tables against the reference: differences, and seconds lost / counted twice."""

    problems: list[str]
    lost: int
    twice: int


def _lake_check(settings: Settings, valid: list[Telemetry]) -> LakeCheck:
    lake = stack_lake(settings)

    def rows(name: str) -> list[dict]:
        try:
            return snapshots.read(lake_table(lake, name)).to_pylist()
        except Exception:  # not written yet (or the first commit still in flight)
            return []

    telemetry = rows("telemetry")
    got_points = telemetry_of(telemetry)
    want_points = expected_telemetry(valid)
    lost = len(want_points.keys() - got_points.keys())
    twice = len(telemetry) - len(got_points) + len(got_points.keys() - want_points.keys())
    problems = [f"telemetry: {lost} point(s) missing, {twice} extra"] if lost or twice else []
    if got_points.items() - want_points.items() and not problems:
        problems.append("telemetry: a point's winning message differs from the rule's")
    results = results_of(rows("race_results"))
    want_results = expected_results(valid)
    for key, want in want_results.items():
        got = results.get(key)
        if got != want:
            problems.append(f"race_results {key}: {got} != {want}")
    problems += [f"race_results {key}: not in the reference" for key in results.keys() - want_results.keys()]
    bests = bests_of(rows("racer_bests"))
    if bests != expected_bests(valid):
        problems.append(f"racer_bests: {len(bests)} rows differ from the reference's {len(expected_bests(valid))}")
    return LakeCheck(problems, lost, twice)


def _in_flight(settings: Settings) -> dict[str, set[str]]:
    """Per Hudi table, its instants in flight: files being written, the commit not completed."""
    found = {}
    for name in HUDI_TABLES:
        timeline = Path(lake_table(stack_lake(settings), name).path) / ".hoodie"
        with contextlib.suppress(FileNotFoundError):
            files = {p.name for p in timeline.iterdir()}
            if instants := {m[1] for f in files if (m := _IN_FLIGHT.match(f)) and f"{m[1]}.commit" not in files}:
                found[name] = instants
    return found


def _batch_running(settings: Settings) -> bool:
    """Whether the streaming job has started a micro-batch it has not committed (offsets ahead of commits)."""
    checkpoint = Path(job_config(settings, "stream").checkpoint)

    def last(kind: str) -> int:
        with contextlib.suppress(FileNotFoundError):
            return max((int(p.name) for p in (checkpoint / kind).iterdir() if p.name.isdigit()), default=-1)
        return -1

    return last("offsets") > last("commits")


def _kill_mid_commit(
    settings: Settings, pid: int, killed: set[tuple[str, str]], timeout_s: float = 300
) -> tuple[str, str]:
    """SIGKILL the lake job as soon as a Hudi table has a new commit in flight (not one a previous
    kill left, which stays until the restarted job rolls it back); the (table, instant) killed."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = {(name, i) for name, instants in _in_flight(settings).items() for i in instants} - killed
        if found:
            break
        assert time.monotonic() < deadline, f"no new Hudi commit in flight within {timeout_s:.0f}s"
        time.sleep(0.01)
    os.killpg(pid, signal.SIGKILL)
    return min(found)


def _wait(until: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not until():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


@pytest.mark.timeout(600 + 600 * ROUNDS)  # the lake job's Spark, twice a round, on a shared machine
def test_chaos_kills_every_component_and_nothing_is_lost(stack: Settings, own_stream: Settings) -> None:
    rng = random.Random(ROUNDS)
    started = time.monotonic()
    own = replace(own_stream, lake_trigger_seconds=2, firehose_buffer_seconds=1.0)
    servers = ProcessTable(stack.home)
    workers = ProcessTable(own.home)
    specs: dict[str, ProcessSpec] = {
        "consumer": consumer_spec(own), "firehose": firehose_spec(own), "api": api_spec(own), "lake": lake_spec(own)
    }  # fmt: skip
    for name in ("api", "consumer", "firehose"):
        workers.start(specs[name])
    lake_errors: list[BaseException] = []

    def start_lake() -> None:  # Spark's start overlaps the first kills
        try:
            workers.start(specs["lake"])
        except BaseException as exc:
            lake_errors.append(exc)

    lake_start = threading.Thread(target=start_lake)
    lake_start.start()
    components = {n: Component(n) for n in ORDER}
    own.home.mkdir(parents=True, exist_ok=True)
    outs: list[Path] = []
    killed_instants: set[tuple[str, str]] = set()
    sims: list[subprocess.Popen[str]] = []

    def simulate(seconds: int, classes: str) -> None:
        outs.append(own.home / f"race-{len(outs)}.jsonl")
        sims.append(_simulate(outs[-1], len(outs), seconds, classes))

    try:
        for _ in range(ROUNDS):
            simulate(30, "1,2,3,4,5,6")
            for name in ORDER:
                component = components[name]
                owner = servers if name in SERVERS else workers
                if name == "lake":
                    lake_start.join()
                    assert not lake_errors, lake_errors
                    if not _batch_running(own):
                        simulate(20, "1,2")  # new raw files: a batch to commit while we watch
                    pid = owner.pid(name)
                    assert pid is not None, "the lake job is not running"
                    hudi_table, instant = _kill_mid_commit(own, pid, killed_instants)
                    killed_instants.add((hudi_table, instant))
                    while owner.pid(name) is not None:
                        time.sleep(0.01)
                    assert not _completed(own, hudi_table, instant), f"{hudi_table}@{instant} completed: not mid-commit"
                    component.note += f" {hudi_table}@{instant}"
                else:
                    time.sleep(rng.uniform(0.5, 2.5))
                    pid = owner.pid(name)
                    assert pid is not None, f"{name} is not running"
                    os.killpg(pid, signal.SIGKILL)
                killed = time.monotonic()
                if owner is servers:  # at once: `up` must wait out the dying server's port
                    local_stack.up(stack)
                else:
                    workers.start(specs[name])
                component.kills += 1
                component.recoveries.append(time.monotonic() - killed)
        for sim in sims:
            assert sim.wait(180) == 0, sim.stdout.read() if sim.stdout else ""
    finally:
        for sim in sims:
            if sim.poll() is None:
                sim.kill()
        lake_start.join()
    aws.forget_clients()
    valid = _valid(outs)
    races = score_races(valid)
    table = DynamoRaceTable.from_settings(own)
    try:
        lake = LakeCheck(["not checked"], 0, 0)

        def converged() -> bool:
            nonlocal lake
            lake = _lake_check(own, valid)
            return not lake.problems and not mismatches(table, races)

        _wait(converged, 240)
        problems = mismatches(table, races)
        lost, twice = _lost_and_twice(table, races)
        with httpx.Client(base_url=own.api_url, timeout=10) as client:
            api_problems = []
            for (race_id, class_id), race in races.items():
                body = client.get(f"/classes/{class_id}/races/{race_id}/leaderboard", params={"limit": 100}).json()
                got = [(e["racerId"], e["totalOutput"]) for e in body.get("entries", [])]
                want = [(s.racer_id, s.total_output) for s in race.standings()]
                if got != want:
                    api_problems.append(f"race {race_id} class {class_id}: API {got} != {want}")
        rolled_back, left_in_flight = _rolled_back(own), _in_flight(own)
        lake_log = workers.log_tail("lake", 20) if workers.pid("lake") is None else "running"
    finally:
        for name in specs:
            workers.stop(name)
    racers = sum(len(r.racers) for r in races.values())
    print(f"\nchaos: {ROUNDS} round(s), {len(races)} races, {racers} racers, {time.monotonic() - started:.0f} s")
    print(f"{'component':<10} {'kills':>5} {'recover s (max)':>16}  note")
    for c in components.values():
        print(f"{c.name:<10} {c.kills:>5} {max(c.recoveries):>16.1f} {c.note}")
    print(f"{'output':<26} {'events lost':>11} {'counted twice':>13}  (whole run, every kill)")
    print(f"{'DynamoDB LIVE/RESULT':<26} {lost:>11} {twice:>13}")
    print(f"{'API leaderboards':<26} {len(api_problems):>11} {len(api_problems):>13}  (races that differ)")
    print(f"{'Hudi telemetry':<26} {lake.lost:>11} {lake.twice:>13}")
    print(f"{'Hudi race_results, bests':<26} {len(lake.problems):>11} {len(lake.problems):>13}  (rows that differ)")
    print(f"lake commits killed in flight and rolled back on restart: {rolled_back}")
    assert problems == [], "\n".join(problems[:10])
    assert api_problems == [], "\n".join(api_problems[:5])
    assert lake.problems == [], "\n".join([*lake.problems[:10], f"lake job log: {lake_log}"])
    assert lost == 0 and twice == 0 and lake.lost == 0 and lake.twice == 0
    assert all(c.kills == ROUNDS for c in components.values())
    assert rolled_back >= components["lake"].kills and not left_in_flight, left_in_flight


def _completed(settings: Settings, name: str, instant: str) -> bool:
    timeline = Path(lake_table(stack_lake(settings), name).path) / ".hoodie"
    return (timeline / f"{instant}.commit").exists()


def _rolled_back(settings: Settings) -> int:
    """Rollback instants on the tables' timelines: each a commit a killed job left in flight."""
    count = 0
    for name in HUDI_TABLES:
        timeline = Path(lake_table(stack_lake(settings), name).path) / ".hoodie"
        with contextlib.suppress(FileNotFoundError):
            count += sum(1 for p in timeline.iterdir() if p.name.endswith(".rollback"))
    return count
