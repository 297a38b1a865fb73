"""Test data for the lake: races with the faults the pipeline must absorb, and the domain's
answers for them (alleycat.domain.scoring), shaped like the lake tables' rows."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable

from alleycat.domain.events import RACE_MS, RaceKey, Telemetry, race_id_for
from alleycat.domain.scoring import score_races, winners

START_MS = 1_763_800_800_000  # 2025-11-22T08:40:00Z, a race boundary


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def race_events(
    seed: int, races: int = 2, classes: tuple[int, ...] = (1, 2), racers: int = 4, seconds: int = 20
) -> list[Telemetry]:
    """Clean events: every racer of every class sends seconds 1..``seconds``, the last one ``final``.
    Cadence has any decimals (not only one), so output_milli's rounding is exercised."""
    rng = random.Random(seed)
    events = []
    for r in range(races):
        start = START_MS + r * RACE_MS
        for class_id in classes:
            for i in range(racers):
                racer_id = class_id * 1000 + i
                for second in range(1, seconds + 1):
                    events.append(
                        Telemetry(
                            uuid=_uuid(rng),
                            event="final" if second == seconds else "update",
                            device_timestamp=start + second * 1000 + rng.randrange(0, 400),
                            second=second,
                            race_id=race_id_for(start),  # all classes race together, like the simulator
                            name=f"Rider{racer_id}",
                            racer_id=racer_id,
                            class_id=class_id,
                            cadence=round(rng.uniform(30, 90), rng.choice((1, 3, 7))),
                            resistance=float(rng.randrange(33, 87)),
                        )
                    )
    return events


def with_faults(events: list[Telemetry], seed: int) -> list[Telemetry]:
    """``events`` plus: exact duplicates (retries), a second message for the same key that is newer
    (wins) or older (loses), and same-timestamp rivals decided by uuid."""
    rng = random.Random(seed)
    out = list(events)
    for ev in rng.sample(events, len(events) // 5):
        out.append(ev)  # retry: same uuid
    for ev in rng.sample(events, len(events) // 10):
        shift = rng.choice((-700, 700, 0))
        out.append(
            Telemetry(
                uuid=_uuid(rng),
                event=ev.event,
                device_timestamp=ev.device_timestamp + shift,
                second=ev.second,
                race_id=ev.race_id,
                name=ev.name,
                racer_id=ev.racer_id,
                class_id=ev.class_id,
                cadence=round(rng.uniform(30, 90), 1),
                resistance=float(rng.randrange(33, 87)),
            )
        )
    rng.shuffle(out)
    return out


def expected_telemetry(events: Iterable[Telemetry]) -> dict[tuple[int, int, int], tuple]:
    """(race_id, racer_id, second) -> (uuid, output_milli) of the winning message."""
    return {(k.race_id, k.racer_id, k.second): (ev.uuid, ev.output_milli) for k, ev in winners(events).items()}


def expected_results(events: Iterable[Telemetry]) -> dict[tuple[int, int], tuple]:
    """(race_id, racer_id) -> (class_id, name, total_output, avg_output, max_output, seconds, last_second, finished).

    The lake's key: a racer rides one class per slot, so (race_id, racer_id) is one racer in one
    race (race_id, class_id)."""
    return {
        (race.race_id, s.racer_id): (
            s.class_id,
            s.name,
            s.total_output,
            s.avg_output,
            s.max_output,
            s.seconds,
            s.last_second,
            s.finished,
        )
        for race in score_races(events).values()
        for s in race.racers.values()
    }


def expected_standings(events: Iterable[Telemetry]) -> dict[RaceKey, list[int]]:
    """Each race (race_id, class_id) -> its racer ids, winner first (alleycat.domain.scoring.rank)."""
    return {key: [s.racer_id for s in race.standings()] for key, race in score_races(events).items()}


def standings_of(race_results: Iterable[dict]) -> dict[RaceKey, list[int]]:
    """The same from ``race_results`` rows: grouped by (race_id, class_id), highest total first,
    ties to the lower racer id."""
    races: dict[RaceKey, list[dict]] = {}
    for row in race_results:
        races.setdefault(RaceKey(row["race_id"], row["class_id"]), []).append(row)
    return {
        key: [r["racer_id"] for r in sorted(rows, key=lambda r: (-r["total_milli"], r["racer_id"]))]
        for key, rows in races.items()
    }


def expected_bests(events: Iterable[Telemetry]) -> dict[tuple[int, int, int], int]:
    """(racer_id, class_id, second) -> the best output_milli among winning messages."""
    best: dict[tuple[int, int, int], int] = {}
    for ev in winners(events).values():
        key = (ev.racer_id, ev.class_id, ev.second)
        best[key] = max(best.get(key, 0), ev.output_milli)
    return best


# The lake tables' rows in the shapes of the expectations above, for comparing them.


def telemetry_of(rows: Iterable[dict]) -> dict[tuple[int, int, int], tuple]:
    """``telemetry`` rows as ``expected_telemetry`` gives them."""
    return {(r["race_id"], r["racer_id"], r["second"]): (r["uuid"], r["output_milli"]) for r in rows}


def results_of(rows: Iterable[dict]) -> dict[tuple[int, int], tuple]:
    """``race_results`` rows as ``expected_results`` gives them."""
    return {
        (r["race_id"], r["racer_id"]): (
            r["class_id"], r["name"], r["total_output"], r["avg_output"], r["max_output"], r["seconds"],
            r["last_second"], r["finished"],
        )
        for r in rows
    }  # fmt: skip


def bests_of(rows: Iterable[dict]) -> dict[tuple[int, int, int], int]:
    """``racer_bests`` rows as ``expected_bests`` gives them."""
    return {(r["racer_id"], r["class_id"], r["second"]): r["output_milli"] for r in rows}
