"""The real-time path on a private local stack (temporary home, free ports).

Figures: the Aggregator's merge (decode + validate + window state) in events/s on one core without
I/O; sustained events/s from the simulator at full speed through Kinesis (4 shards), the consumer
and DynamoDB with zero loss (every racer's LIVE score equals the reference computation);
standings freshness p50/p99 (deviceTimestamp -> counted in LIVE) for a race replayed in real time;
DynamoDB writes per race. A race is ``(raceId, classId)``: a simulated slot of six classes is six
races, each with its own LIVE item.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamRecord

from alleycat.adapters import aws
from alleycat.adapters.race_items import live_item
from alleycat.adapters.race_table import DynamoRaceTable, RaceTable
from alleycat.domain.events import InvalidEvent, RaceKey, parse_event, race_id_for
from alleycat.domain.scoring import RaceScores, score_races
from consumers.aggregator import merge_records
from infra.local import stack
from infra.local.processes import free_port
from producers.simulator import SimConfig, Simulator

REPO = Path(__file__).resolve().parents[1]


def merge_rate(batches: int = 50, size: int = 1000) -> float:
    config = SimConfig(start_ms=1_700_000_100_000, seed=1, classes=(1, 2, 3, 4, 5, 6), racers=200, race_seconds=60)
    events = [ev for tick in Simulator(config).ticks() for ev in tick.events][:size]
    batch = [
        KinesisStreamRecord(
            {"kinesis": {"data": base64.b64encode(ev.to_json()).decode(), "partitionKey": str(ev.race_id)}}
        )
        for ev in events
    ]
    started = time.process_time()
    for _ in range(batches):
        state: dict = {}
        merge_records(state, batch)
        json.dumps(state)  # the runtime passes the state through JSON
    return batches * size / (time.process_time() - started)


def _reference(path: Path) -> dict[RaceKey, RaceScores]:
    events = []
    for line in path.read_bytes().splitlines():
        try:
            events.append(parse_event(line))
        except InvalidEvent:
            continue
    return score_races(events)


def _simulate(out: Path, start: str, racers: int, seconds: int, speed: float) -> None:
    subprocess.run(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--classes", "1,2,3,4,5,6", "--racers", str(racers),
         "--race-seconds", str(seconds), "--speed", str(speed), "--start", start, "--seed", "5", "--out", str(out)],
        cwd=REPO, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def run() -> None:
    rate = merge_rate()
    print(f"   aggregator merge (decode, validate, window state), no I/O: {rate:,.0f} events/s per core")

    saved = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="alleycat-bench-") as tmp:
        settings = stack.private_settings(Path(tmp) / "home", ALLEYCAT_SHARDS="4", ALLEYCAT_KINESIS_LIMITS="off")
        stack.up(settings)
        stack.apply_env(settings)
        _clear_clients()
        table = DynamoRaceTable.from_settings(settings)
        env = {**os.environ, "ALLEYCAT_LIVE_URL": f"http://127.0.0.1:{free_port()}/internal/live"}
        log = Path(tmp) / "consumer.log"
        with log.open("wb") as fh:
            consumer = subprocess.Popen(
                [sys.executable, "-m", "alleycat.cli", "--log-level", "INFO", "consume"],
                cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            # 1. sustained throughput with zero loss
            out = Path(tmp) / "max.jsonl"
            started = time.monotonic()
            _simulate(out, "2031-01-01T00:00:00Z", racers=200, seconds=60, speed=0)
            sent_s = time.monotonic() - started
            races = _reference(out)
            events = sum(1 for _ in out.open("rb"))
            pending = set(races)
            while pending and time.monotonic() - started < 300:
                for race in list(pending):
                    live = table.read_live(*race)
                    want = races[race].racers
                    if live and all(
                        rid_ in live.race.racers and live.race.racers[rid_].to_compact() == s.to_compact()
                        for rid_, s in want.items()
                    ):
                        pending.discard(race)
                time.sleep(0.2)
            done_s = time.monotonic() - started
            lost = "zero loss" if not pending else f"NOT CONVERGED: {len(pending)} race(s)"
            print(
                f"   sustained: {events:,} records ({sum(len(r.racers) for r in races.values())} racers, 4 shards) "
                f"sent in {sent_s:.1f} s, all counted in LIVE after {done_s:.1f} s: {events / done_s:,.0f} events/s "
                f"end to end ({lost}; includes the last 5 s window)"
            )
            for race in sorted(races):
                live = table.read_live(*race)
                if live is None:
                    print(f"   LIVE item of race {race.race_id} class {race.class_id}: missing")
                    continue
                print(f"   LIVE item of race {race.race_id} class {race.class_id}: "
                      f"{len(json.dumps(live_item(live), default=str)):,} bytes "
                      f"for {len(live.race.racers)} racers; LIVE writes {live.version}")  # fmt: skip

            # 2. freshness: a race replayed in real time (speed 1, no faults); a point's event time is
            # when the simulator sent its second (run start + second - 1), as on a real bike
            fresh = Path(tmp) / "fresh.jsonl"
            sim_started = time.time()
            sim = subprocess.Popen(
                [sys.executable, "-m", "alleycat.cli", "simulate", "--classes", "1,2,3,4,5,6", "--racers", "50",
                 "--race-seconds", "30", "--speed", "1", "--start", "2032-01-01T00:00:00Z", "--seed", "9",
                 "--out", str(fresh)],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            fresh_races = [RaceKey(_reference_race_id("2032-01-01T00:00:00Z"), c) for c in range(1, 7)]
            seen: dict[int, int] = {}
            visible: dict[tuple[int, int], float] = {}
            deadline = None
            while deadline is None or time.monotonic() < deadline:
                for race in fresh_races:
                    _poll_live(table, race, seen, visible)
                if deadline is None and sim.poll() is not None:
                    deadline = time.monotonic() + 12
                time.sleep(0.1)
            lags = sorted(at - (sim_started + second - 1) for (_, second), at in visible.items())
            p50, p99 = statistics.median(lags), lags[max(0, int(len(lags) * 0.99) - 1)]
            print(f"   freshness (sent -> counted in LIVE), {len(lags):,} points of 300 racers: "
                  f"p50 {p50:.2f} s, p99 {p99:.2f} s (5 s tumbling window)")  # fmt: skip

            # 3. writes per race
            results = bests = 0
            for line in log.read_text().splitlines():
                doc = json.loads(line) if line.startswith("{") else {}
                if doc.get("message") == "results written":
                    results += doc["results"]
                    bests += doc["bests"]
            all_races = set(races) | set(fresh_races)
            live_writes = sum(live.version for r in all_races if (live := table.read_live(*r)) is not None)
            slots = len({r.race_id for r in all_races})
            print(
                f"   DynamoDB writes for {len(all_races)} races ({slots} slots x 6 classes): LIVE {live_writes}, "
                f"RESULT {results}, BEST {bests} (+ CLASS items); per race: "
                f"{(live_writes + results + bests) / len(all_races):,.0f}"
            )
        finally:
            consumer.send_signal(signal.SIGTERM)
            try:
                consumer.wait(60)
            except subprocess.TimeoutExpired:
                consumer.kill()
                consumer.wait()
            stack.down(settings)
            os.environ.clear()
            os.environ.update(saved)
            _clear_clients()


def _clear_clients() -> None:
    """Forget the boto3 clients made so far: they point at the environment of their time."""
    aws.client.cache_clear()
    aws.resource.cache_clear()


def _reference_race_id(start: str) -> int:
    return race_id_for(int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1000))


def _poll_live(table: RaceTable, race: RaceKey, seen: dict[int, int], visible: dict[tuple[int, int], float]) -> None:
    """Record when each (racer, second) of a race first shows up in its LIVE item (racerIds are
    unique across the classes of a slot, so one ``seen`` serves them all)."""
    live = table.read_live(*race)
    if live is None:
        return
    now = time.time()
    for racer_id, score in live.race.racers.items():
        new = score.counted & ~seen.get(racer_id, 0)
        while new:
            bit = new & -new
            visible[(racer_id, bit.bit_length() - 1)] = now
            new ^= bit
        seen[racer_id] = score.counted
