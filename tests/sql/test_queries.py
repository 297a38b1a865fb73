"""Every library query, run locally on the simulated lake, against an independent computation in
Python over the same events (alleycat.domain.scoring for scores)."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import hudi
import pyarrow as pa
import pytest

from alleycat.domain.events import PointKey
from alleycat.domain.scoring import RacerScore, score_races, winners
from alleycat.lake.location import Lake
from alleycat.sql_engine.params import Query, substitute
from tests.conftest import Athena
from tests.sql.conftest import Sim, race_day

QUERIES = Path(__file__).resolve().parents[2] / "sql" / "queries"
pytestmark = pytest.mark.spark  # the Hudi tables come from the Spark-built fixture


def run(athena: Athena, lake: Lake, name: str, **values: Any) -> list[dict[str, Any]]:
    query = Query.from_file(QUERIES / f"{name}.sql")
    sql = substitute(query, {k: str(v) for k, v in values.items()})
    return athena.query(lake, sql).to_pylist()


def utc(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def test_every_query_declares_what_it_answers() -> None:
    files = sorted(QUERIES.glob("*.sql"))
    assert len(files) >= 8
    for path in files:
        assert Query.from_file(path).description, f"{path.name} has no header comment"


def test_race_podium(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    races = score_races(sim.events)
    assert len(races) == 6 and len({key.race_id for key in races}) == 3  # two classes in each of three slots
    for key, race in races.items():
        expected = [(s.racer_id, s.name, s.total_output, s.avg_output) for s in race.standings()[:3]]
        rows = run(athena, hudi_lake, "race_podium", race_id=key.race_id, class_id=key.class_id)
        assert [r["place"] for r in rows] == [1, 2, 3]
        assert [r["class_id"] for r in rows] == [key.class_id] * 3
        assert [(r["racer_id"], r["name"], r["total_output"], r["avg_output"]) for r in rows] == expected


def test_class_top10(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    races = sorted(score_races(sim.events).values(), key=lambda r: r.key)
    for class_id in (1, 2):
        best: dict[int, tuple[RacerScore, int]] = {}
        for race in races:
            if race.class_id != class_id:
                continue
            for s in race.racers.values():
                if s.racer_id not in best or s.total_milli > best[s.racer_id][0].total_milli:
                    best[s.racer_id] = (s, race.race_id)
        ordered = sorted(best.values(), key=lambda b: (-b[0].total_milli, b[0].racer_id))[:10]
        expected = [(i + 1, s.racer_id, race_id, s.total_output) for i, (s, race_id) in enumerate(ordered)]
        rows = run(athena, hudi_lake, "class_top10", class_id=class_id)
        assert [(r["place"], r["racer_id"], r["race_id"], r["total_output"]) for r in rows] == expected


def test_racer_progression(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    races = sorted(score_races(sim.events).values(), key=lambda r: r.key)
    racer_id = races[0].standings()[-1].racer_id
    expected: list[tuple[Any, ...]] = []
    best, previous = 0, None
    for race in races:
        standings = race.standings()
        places = {s.racer_id: i + 1 for i, s in enumerate(standings)}
        if racer_id not in places:
            continue
        score = race.racers[racer_id]
        best = max(best, score.total_milli)
        change: float | None = None if previous is None else (score.total_milli - previous) / 1000
        expected.append(
            (
                race.race_id,
                utc(race.race_id * 300_000),
                race.class_id,
                places[racer_id],
                len(standings),  # the racers of their class in that slot, not of the whole slot
                best / 1000,
                change,
            )
        )
        previous = score.total_milli
    rows = run(athena, hudi_lake, "racer_progression", racer_id=racer_id)
    got = [
        (
            r["race_id"],
            r["started_at"],
            r["class_id"],
            r["place"],
            r["racers"],
            r["best_so_far"],
            r["change_from_previous"],
        )
        for r in rows
    ]
    assert got == expected and len(got) == 3
    assert all(racers == 5 for *_, racers, _, _ in got)  # five per class, two classes per slot


def rank_of(values: list[float], answer: float) -> tuple[float, float]:
    """The fractions of ``values`` below and at-or-below ``answer``: ``answer`` is the nearest-rank
    ``q`` quantile when it is one of the values, fewer than q are below it and at least q at or below."""
    return sum(v < answer for v in values) / len(values), sum(v <= answer for v in values) / len(values)


def test_class_distributions(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    day = race_day(sim.events[-1].race_id)
    points: dict[int, list] = defaultdict(list)
    for ev in winners(sim.events).values():
        if race_day(ev.race_id) == day:
            points[ev.class_id].append(ev)
    rows = run(athena, hudi_lake, "class_distributions", day=day)
    assert [r["class_id"] for r in rows] == sorted(points)
    for row in rows:
        evs = points[row["class_id"]]
        assert row["points"] == len(evs)
        for q in (25, 50, 75, 90):
            for column in ("cadence", "resistance"):
                values = [getattr(e, column) for e in evs]
                answer = row[f"{column}_p{q}"]
                below, at_or_below = rank_of(values, answer)
                assert answer in values and below < q / 100 <= at_or_below, (column, q, below, at_or_below)


def test_power_curve_vs_best(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    points = winners(sim.events).values()
    bests: dict[tuple[int, int, int], int] = {}
    for ev in points:
        key = (ev.racer_id, ev.class_id, ev.second)
        bests[key] = max(bests.get(key, 0), ev.output_milli)
    race_id = sim.events[0].race_id
    racer_id = sim.events[0].racer_id
    mine = sorted((ev for ev in points if ev.race_id == race_id and ev.racer_id == racer_id), key=lambda e: e.second)
    expected = []
    for ev in mine:
        best = bests[(ev.racer_id, ev.class_id, ev.second)]
        expected.append(
            (ev.second, ev.output_milli / 1000, best / 1000, (ev.output_milli - best) / 1000, ev.output_milli == best)
        )
    rows = run(athena, hudi_lake, "power_curve_vs_best", race_id=race_id, racer_id=racer_id)
    assert [(r["second"], r["output"], r["best_output"], r["gap"], r["at_best"]) for r in rows] == expected
    assert any(not r["at_best"] for r in rows) and any(r["at_best"] for r in rows)


def test_race_summary(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    day = race_day(sim.events[0].race_id)
    expected = []
    for key, race in sorted(score_races(sim.events).items()):
        if race_day(key.race_id) != day:
            continue
        standings = race.standings()
        totals = [s.total_milli for s in standings]
        expected.append(
            (
                key.race_id,
                key.class_id,
                len(standings),
                sum(s.finished for s in standings),
                standings[0].racer_id,
                standings[0].total_output,
                round(sum(totals) / len(totals) / 1000, 3),
            )
        )
    rows = run(athena, hudi_lake, "race_summary", day=day)
    got = [
        (
            r["race_id"],
            r["class_id"],
            r["racers"],
            r["finishers"],
            r["winner_id"],
            r["winning_total"],
            r["average_total"],
        )
        for r in rows
    ]
    assert got == expected and got
    assert len({r[0] for r in got}) < len(got)  # a slot of that day has races of several classes


def quality_by_hour(sim: Sim, day: dt.date, absent: set[PointKey]) -> list[dict[str, Any]]:
    """data_quality_hourly's rows, computed delivery by delivery in arrival order; ``absent`` are
    the points the Hudi table lacks."""
    hours: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_taken: set[PointKey] = set()
    for d in sorted(sim.deliveries, key=lambda d: (d.arrival_ms, d.event.uuid)):
        when = utc(d.arrival_ms)
        is_first = d.event.key not in first_taken
        first_taken.add(d.event.key)
        if when.date() != day:
            continue
        counts = hours[when.hour]
        counts["delivered"] += 1
        counts["duplicates"] += not is_first
        counts["late"] += d.arrival_ms - d.event.device_timestamp > sim.late_ms
        counts["missing"] += is_first and d.event.key in absent
    for ms, _ in sim.malformed:
        if utc(ms).date() == day:
            hours[utc(ms).hour]["malformed"] += 1
    expected = []
    for hour, c in sorted(hours.items()):
        delivered, malformed = c["delivered"], c["malformed"]
        expected.append(
            {
                "hour": hour,
                "delivered": delivered,
                "duplicates": c["duplicates"],
                "late": c["late"],
                "missing": c["missing"],
                "malformed": malformed,
                "duplicate_rate": round(c["duplicates"] / delivered, 6) if delivered else None,
                "late_rate": round(c["late"] / delivered, 6) if delivered else None,
                "malformed_rate": round(malformed / (delivered + malformed), 6),
            }
        )
    return expected


def test_data_quality_hourly(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    day = utc(max(d.arrival_ms for d in sim.deliveries)).date()
    rows = run(athena, hudi_lake, "data_quality_hourly", day=day.isoformat(), late_ms=sim.late_ms)
    assert rows == quality_by_hour(sim, day, absent=set())  # the Hudi table holds every point
    assert sum(r["duplicates"] for r in rows) > 0 and sum(r["late"] for r in rows) > 0
    assert sum(r["malformed"] for r in rows) > 0
    assert any(utc(d.arrival_ms).date() < day for d in sim.deliveries)  # firsts of the day before
    assert max(d.event.second for d in sim.deliveries) > 128  # three 64-second blocks a racer


def test_data_quality_hourly_counts_the_points_the_hudi_table_lacks(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    """The same query over a telemetry table without some points first delivered on the day:
    seconds 1, 63, 64, 127 and 128 (the query keeps 64 seconds in a bigint: 63 and 127 are its
    sign bit, 64 and 128 bit 0 of the next), every racer's final second, one retried point and one
    racer's seconds from 128 on (a block the table lacks whole)."""
    day = utc(max(d.arrival_ms for d in sim.deliveries)).date()
    first: dict[PointKey, int] = {}
    for d in sim.deliveries:
        first[d.event.key] = min(first.get(d.event.key, d.arrival_ms), d.arrival_ms)
    retried = Counter(d.event.key for d in sim.deliveries)
    on_day = [e for e in sim.events if utc(first[e.key]).date() == day]
    absent = {e.key for e in on_day if e.second in (1, 63, 64, 127, 128) or e.event == "final"}
    absent.add(next(e.key for e in on_day if retried[e.key] > 1))
    last_race = max(e.race_id for e in sim.events)  # it starts at midnight: all its points are the day's
    whole = next((e.race_id, e.racer_id) for e in on_day if e.race_id == last_race)
    absent |= {e.key for e in on_day if (e.race_id, e.racer_id) == whole and e.second >= 128}
    keys = ", ".join(f"({race}, {racer}, {second})" for race, racer, second in sorted(absent))
    query = Query.from_file(QUERIES / "data_quality_hourly.sql")
    sql = substitute(query, {"day": day.isoformat(), "late_ms": str(sim.late_ms)})
    lacking = f"(SELECT * FROM alleycat.telemetry WHERE (race_id, racer_id, second) NOT IN (VALUES {keys}))"
    sql, replaced = re.subn(r"\balleycat\.telemetry\b", lacking, sql)
    assert replaced == 1
    rows = athena.query(hudi_lake, sql).to_pylist()
    assert rows == quality_by_hour(sim, day, absent)
    assert sum(r["missing"] for r in rows) == len(absent)


def test_freshness(hudi_lake: Lake, sim: Sim, athena: Athena) -> None:
    before = time.time()
    rows = {r["stage"]: r for r in run(athena, hudi_lake, "freshness")}
    after = time.time()
    assert rows["raw_telemetry"]["newest_ms"] == max(d.arrival_ms for d in sim.deliveries)
    assert rows["raw_telemetry"]["last_commit"] is None
    for stage, column in (("telemetry", "device_timestamp"), ("race_results", "updated_at")):
        table = hudi.HudiTableBuilder.from_base_uri(hudi_lake.resolve(hudi_lake.layout.hudi_table(stage))).build()
        newest = pa.Table.from_batches(table.read())[column].to_pylist()
        assert rows[stage]["newest_ms"] == max(newest)
        assert rows[stage]["last_commit"] == table.get_timeline().get_latest_commit_timestamp()
        lag = rows[stage]["lag_seconds"]
        assert math.floor(before - max(newest) / 1000) - 1 <= lag <= math.ceil(after - max(newest) / 1000) + 1
