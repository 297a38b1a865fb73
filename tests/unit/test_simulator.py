"""The simulator: valid, realistic, reproducible events; faults at the asked rates."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from alleycat.cli import main as alleycat_main
from alleycat.domain.events import RACE_MS, InvalidEvent, RaceKey, Telemetry, parse_event, race_id_for
from alleycat.domain.scoring import score_races
from producers.faults import MALFORMED_KINDS, FaultRates, malform
from producers.run import run_simulation
from producers.simulator import SimConfig, Simulator
from producers.sinks import partition_key

START = 1_704_067_200_000  # 2024-01-01T00:00:00Z, a race boundary
NO_FAULTS = FaultRates()


def simulate(config: SimConfig, faults: FaultRates = NO_FAULTS, strategy: str = "race") -> bytes:
    out = io.BytesIO()
    run_simulation(config, sink=None, out=out, speed=0, faults=faults, strategy=strategy)  # type: ignore[arg-type]
    return out.getvalue()


def events_of(config: SimConfig) -> list[Telemetry]:
    return [ev for tick in Simulator(config).ticks() for ev in tick.events]


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    config = SimConfig(start_ms=START, seed=42, classes=(1, 4), racers=20, race_seconds=60)
    faults = FaultRates(duplicate=0.05, late=0.05, malformed=0.05)
    first = simulate(config, faults)
    assert first == simulate(config, faults)
    assert first != simulate(SimConfig(start_ms=START, seed=43, classes=(1, 4), racers=20, race_seconds=60), faults)


def test_cli_seed_is_reproducible_and_out_is_one_record_per_line(tmp_path: Path) -> None:
    args = ["simulate", "--seed", "9", "--classes", "2,3", "--racers", "5", "--race-seconds", "20", "--races", "2"]
    args += ["--speed", "0", "--no-send", "--malformed-rate", "0.2", "--duplicate-rate", "0.1", "--late-rate", "0.1"]
    for name in ("a.jsonl", "b.jsonl"):
        assert alleycat_main([*args, "--out", str(tmp_path / name)]) == 0
    a = (tmp_path / "a.jsonl").read_bytes()
    assert a == (tmp_path / "b.jsonl").read_bytes()
    lines = a.split(b"\n")
    assert lines[-1] == b""
    valid = []
    for line in lines[:-1]:
        with contextlib.suppress(InvalidEvent):
            valid.append(parse_event(line))
    assert len({ev.uuid for ev in valid}) == 2 * 2 * 5 * 20  # every event arrived, faults on top
    assert {ev.race_id for ev in valid} == {race_id_for(START), race_id_for(START) + 1}  # seeded default start


def test_events_are_valid_and_within_rider_ranges() -> None:
    config = SimConfig(start_ms=START + 123_456, seed=1, classes=(1, 2, 3, 4, 5, 6), racers=15, race_seconds=300)
    events = events_of(config)
    assert len(events) == 6 * 15 * 300
    for ev in events:
        assert parse_event(ev.to_json()) == ev
        assert 30 <= ev.cadence <= 90 and round(ev.cadence, 1) == ev.cadence
        assert 33 <= ev.resistance <= 86 and type(ev.resistance) is int
        assert ev.race_id == race_id_for(START)  # floored to the boundary
        assert 0 <= ev.device_timestamp - (START + ev.second * 1000) < 1000
        assert (ev.event == "final") == (ev.second == 300)
    assert len({ev.uuid for ev in events}) == len(events)
    per_class = defaultdict(set)
    for ev in events:
        per_class[ev.class_id].add(ev.racer_id)
    assert all(len(r) == 15 for r in per_class.values())
    assert len(set().union(*per_class.values())) == 6 * 15  # a racer rides in one class


def test_events_come_in_clock_order_one_per_racer_per_second() -> None:
    config = SimConfig(start_ms=START, seed=2, classes=(1,), racers=10, race_seconds=30)
    ticks = list(Simulator(config).ticks())
    assert [t.index for t in ticks] == list(range(30))
    for tick in ticks:
        assert {ev.second for ev in tick.events} == {tick.index + 1}
        assert len({ev.racer_id for ev in tick.events}) == 10


def test_continuous_races_follow_on_the_next_boundaries() -> None:
    config = SimConfig(start_ms=START, seed=3, classes=(2,), racers=2, race_seconds=300, races=None, duration_s=750)
    events = events_of(config)
    first = race_id_for(START)
    assert sorted({ev.race_id for ev in events}) == [first, first + 1, first + 2]
    assert max(ev.second for ev in events if ev.race_id == first + 2) == 150  # stopped mid-race
    assert sum(ev.is_final for ev in events) == 2 * 2
    short = SimConfig(start_ms=START, seed=3, classes=(2,), racers=1, race_seconds=100, races=2)
    assert short.ticks == 400  # 100 s racing, 200 s waiting for the boundary, 100 s racing
    starts = {ev.race_id: ev.device_timestamp - ev.second * 1000 for ev in events_of(short) if ev.second == 1}
    assert {rid: ts // 1000 * 1000 for rid, ts in starts.items()} == {first: START, first + 1: START + RACE_MS}


def test_rankings_change_during_a_race() -> None:
    config = SimConfig(start_ms=START, seed=4, classes=(1,), racers=50, race_seconds=300)
    events = events_of(config)
    race = RaceKey(race_id_for(START), 1)
    early = score_races(ev for ev in events if ev.second <= 60)[race].standings()
    final = score_races(events)[race].standings()
    assert [s.racer_id for s in early[:5]] != [s.racer_id for s in final[:5]]
    assert len({s.total_milli for s in final}) == 50  # different strengths, no dead heat


def test_every_class_races_in_each_slot_and_scores_as_its_own_race() -> None:
    config = SimConfig(start_ms=START, seed=10, classes=(1, 3, 6), racers=4, race_seconds=20, races=2)
    events = events_of(config)
    first = race_id_for(START)
    races = score_races(events)
    assert sorted(races) == [RaceKey(r, c) for r in (first, first + 1) for c in (1, 3, 6)]
    for key, race in races.items():
        assert race.key == key
        riders = {ev.racer_id for ev in events if ev.race == key}
        assert set(race.racers) == riders and len(riders) == 4
        assert all(s.class_id == key.class_id and s.seconds == 20 and s.finished for s in race.racers.values())
    slot = [race for key, race in races.items() if key.race_id == first]
    assert len(slot) == 3 and not set.intersection(*(set(r.racers) for r in slot))  # no class merged into another


def test_fault_rates_are_roughly_honoured_and_do_not_change_the_scores() -> None:
    config = SimConfig(start_ms=START, seed=5, classes=(1, 2), racers=50, race_seconds=100)
    clean = simulate(config)
    faulty = simulate(config, FaultRates(duplicate=0.1, late=0.05, malformed=0.02))
    n = 2 * 50 * 100
    lines = faulty.splitlines()
    valid, invalid = [], 0
    for line in lines:
        try:
            valid.append(parse_event(line))
        except InvalidEvent:
            invalid += 1
    duplicates = len(valid) - len({ev.uuid for ev in valid})
    assert 0.08 * n < duplicates < 0.12 * n
    assert 0.01 * n < invalid < 0.03 * n
    clean_events = [parse_event(line) for line in clean.splitlines()]
    first_seen = [ev.uuid for ev in valid]
    order = {uuid: i for i, uuid in reversed(list(enumerate(first_seen)))}
    out_of_order = sum(1 for a, b in itertools.pairwise(clean_events) if order[a.uuid] > order[b.uuid])
    assert 0.03 * n < out_of_order < 0.12 * n  # each late record breaks the order about once
    assert Counter(ev.uuid for ev in valid).keys() == {ev.uuid for ev in clean_events}

    def totals(events: list[Telemetry]) -> dict:
        return {(r, x): s.total_milli for r, race in score_races(events).items() for x, s in race.racers.items()}

    assert totals(valid) == totals(clean_events)


@pytest.mark.parametrize("kind", MALFORMED_KINDS)
def test_every_malformed_kind_is_rejected_and_single_line(kind: str) -> None:
    event = events_of(SimConfig(start_ms=START, seed=6, racers=1, race_seconds=1))[0]
    rng = random.Random(kind)
    for _ in range(50):
        data = malform(event, kind, rng)
        assert b"\n" not in data and b"\r" not in data
        with pytest.raises(InvalidEvent):
            parse_event(data)


@pytest.mark.parametrize("strategy", ["race", "racer", "random"])
def test_partition_key_strategies(strategy: str) -> None:
    config = SimConfig(start_ms=START, seed=7, classes=(1,), racers=4, race_seconds=3)
    events = events_of(config)
    keys = {partition_key(ev, strategy) for ev in events}  # type: ignore[arg-type]
    assert len(keys) == {"race": 1, "racer": 4, "random": 12}[strategy]


def test_record_bytes_are_the_events_json() -> None:
    config = SimConfig(start_ms=START, seed=8, classes=(3,), racers=3, race_seconds=5)
    assert simulate(config).splitlines() == [ev.to_json() for ev in events_of(config)]
    assert json.loads(simulate(config).splitlines()[0])["classId"] == 3


def test_start_option_is_floored_to_a_race_boundary(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    args = ["simulate", "--seed", "1", "--racers", "1", "--race-seconds", "2", "--speed", "0", "--no-send"]
    assert alleycat_main([*args, "--start", "2024-05-12T13:02:31Z", "--out", str(out)]) == 0
    first = parse_event(out.read_bytes().splitlines()[0])
    boundary = 1_715_518_800_000  # 2024-05-12T13:00:00Z
    assert first.race_id == race_id_for(boundary) and first.device_timestamp // 1000 == boundary // 1000 + 1
