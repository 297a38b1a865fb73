"""The race simulator: every racer of every class sends one event a second, race after race.

Races of all selected classes start together on 300 s boundaries (``raceId = race_id_for(start)``);
a race's second ``s`` is sent at ``start + s`` seconds, and each racer's last one is ``final``. The
next race starts on the first boundary after the previous one ended.

Riders: each has a strength and, each race, a maximum cadence (30-90 rpm) and resistance (33-86 %)
to trend towards, and a pacing (where in the race they peak, how much they fade), so early
leaders get caught and rankings change. Cadence has one decimal and resistance is whole, so
``output_milli`` is exact. Everything comes from seeded RNGs: same seed, same events.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from alleycat.domain.events import RACE_MS, Telemetry, race_id_for

CADENCE = (30.0, 90.0)
RESISTANCE = (33, 86)
REGISTERED_RACERS = 40_000
NAMES = (
    "Hayden", "Hubert", "Amara", "Bea", "Cato", "Dara", "Eli", "Femi", "Greta", "Hiro", "Ines", "Jonas",
    "Kaia", "Luca", "Mina", "Nico", "Oona", "Pavel", "Quinn", "Rosa", "Sami", "Tove", "Uma", "Vik",
    "Wren", "Xia", "Yara", "Zeno", "Ada", "Bram", "Cleo", "Dev", "Esme", "Finn", "Gus", "Hana", "Ivo",
    "Juno", "Kit", "Lior", "Maud", "Nils", "Odile", "Priya", "Rafa", "Sol", "Teo", "Ugo", "Vera", "Wim",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SimConfig:
    start_ms: int  # floored to a race boundary
    seed: int
    classes: tuple[int, ...] = (1,)
    racers: int = 10  # per class
    race_seconds: int = 300
    races: int | None = 1  # per class; None: race after race until ``duration_s`` (or forever)
    duration_s: int | None = None  # simulated seconds, then stop mid-race if need be

    @property
    def first_start_ms(self) -> int:
        return self.start_ms - self.start_ms % RACE_MS

    @property
    def period_ms(self) -> int:
        """From one race's start to the next: the race, rounded up to whole 300 s slots."""
        return -(-self.race_seconds * 1000 // RACE_MS) * RACE_MS

    def race_start(self, index: int) -> int:
        """Start (epoch ms) of race ``index``, 0-based."""
        return self.first_start_ms + index * self.period_ms

    @property
    def ticks(self) -> int | None:
        """How many simulated seconds the run lasts (None: unbounded)."""
        limits = [] if self.duration_s is None else [self.duration_s]
        if self.races is not None:
            limits.append((self.races - 1) * self.period_ms // 1000 + self.race_seconds)
        return min(limits) if limits else None


@dataclass(frozen=True, slots=True)
class Rider:
    racer_id: int
    name: str
    class_id: int
    strength: float  # 0..1


@dataclass(slots=True)
class _Ride:
    """One rider's state in one race."""

    rider: Rider
    cadence_max: float
    resistance_max: int
    peak_at: float  # fraction of the race at full effort
    fade: float  # share of effort lost from the peak to the line
    clock_ms: int  # the bike's clock offset within a second
    cadence: float
    resistance: int

    def step(self, progress: float, rng: random.Random) -> None:
        if progress < self.peak_at:
            effort = 0.35 + 0.65 * progress / self.peak_at
        else:
            effort = 1 - self.fade * (progress - self.peak_at) / (1 - self.peak_at)
        target = CADENCE[0] + (self.cadence_max - CADENCE[0]) * effort
        cadence = self.cadence + 0.2 * (target - self.cadence) + rng.gauss(0, 2.0)
        self.cadence = round(min(max(cadence, CADENCE[0]), CADENCE[1]), 1)
        if rng.random() < 0.3:  # the resistance knob moves now and then, towards the target
            target_r = RESISTANCE[0] + (self.resistance_max - RESISTANCE[0]) * effort
            gap = target_r - self.resistance
            move = rng.randint(1, 3) * (1 if gap > 0 else -1) if abs(gap) >= 1 else rng.choice((-1, 1))
            self.resistance = min(max(self.resistance + move, RESISTANCE[0]), RESISTANCE[1])


@dataclass(slots=True)
class Tick:
    """One simulated second: its index from the run's start and the events sent in it."""

    index: int
    events: list[Telemetry] = field(default_factory=list)


class Simulator:
    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._rng = random.Random(f"{config.seed}:riders")
        self._ids = random.Random(f"{config.seed}:uuids")
        self.riders = self._roster()

    def _roster(self) -> dict[int, list[Rider]]:
        total = len(self.config.classes) * self.config.racers
        ids = self._rng.sample(range(max(REGISTERED_RACERS, 2 * total)), total)
        roster: dict[int, list[Rider]] = {}
        for n, class_id in enumerate(self.config.classes):
            chunk = sorted(ids[n * self.config.racers : (n + 1) * self.config.racers])
            roster[class_id] = [
                Rider(racer_id, self._rng.choice(NAMES), class_id, self._rng.betavariate(2, 2)) for racer_id in chunk
            ]
        return roster

    def _ride(self, rider: Rider) -> _Ride:
        rng = self._rng
        form = 0.5 * rider.strength + 0.5 * rng.random()
        return _Ride(
            rider=rider,
            cadence_max=round(55 + 35 * form, 1),
            resistance_max=round(50 + 36 * form),
            peak_at=rng.uniform(0.15, 0.9),
            fade=rng.uniform(0.05, 0.35),
            clock_ms=rng.randrange(1000),
            cadence=round(rng.uniform(30, 45), 1),
            resistance=rng.randint(33, 45),
        )

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def ticks(self) -> Iterator[Tick]:
        """Every simulated second of the run, with the events of that second."""
        cfg = self.config
        limit = cfg.ticks
        index = 0
        race = 0
        while cfg.races is None or race < cfg.races:
            start = cfg.race_start(race)
            rides = [self._ride(r) for class_id in cfg.classes for r in self.riders[class_id]]
            while cfg.first_start_ms + index * 1000 < start:  # waiting for the next boundary
                if index == limit:
                    return
                yield Tick(index)
                index += 1
            for second in range(1, cfg.race_seconds + 1):
                if index == limit:
                    return
                tick = Tick(index)
                for ride in rides:
                    ride.step(second / cfg.race_seconds, self._rng)
                    tick.events.append(self._event(ride, start, second))
                yield tick
                index += 1
            race += 1

    def _event(self, ride: _Ride, start_ms: int, second: int) -> Telemetry:
        return Telemetry(
            uuid=self._uuid(),
            event="final" if second == self.config.race_seconds else "update",
            device_timestamp=start_ms + second * 1000 + ride.clock_ms,
            second=second,
            race_id=race_id_for(start_ms),
            name=ride.rider.name,
            racer_id=ride.rider.racer_id,
            class_id=ride.rider.class_id,
            cadence=ride.cadence,
            resistance=ride.resistance,
        )
