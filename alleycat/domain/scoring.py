"""What a score is, so every layer agrees.

* A data point's key is ``(raceId, racerId, second)``; the same message (same uuid) counts once;
  of two different messages for one key the winner is ``Telemetry.beats`` (later deviceTimestamp,
  then larger uuid).
* A racer's race score is the sum of output over their distinct seconds, kept in exact integer
  thousandths (``output_milli``), with the average, the maximum, the number of seconds, the last
  second seen and whether their ``final`` message arrived.
* Standings rank by total output, highest first; ties go to the lower racerId.
* Rider metrics (docs/design.md, "Rider metrics"): the current output (the point of the last
  second), rolling and peak 5 s and 60 s output (average per second) over 5-second buckets
  (seconds 1-5, 6-10, ...): rolling 5 s is the latest bucket, rolling 60 s the latest 12; a peak
  is the best such window seen so far. A point more than 60 s older than the racer's last second
  counts to the total only. The gap to the rider ahead and the previous rank come with the
  standings rows (``standing_rows``).

``winners`` is the reference computation over a whole set of messages (tests, the lake, the SQL
checks all use it). ``RacerScore`` is the compact, mergeable summary the real-time path keeps:
a bitmap of counted seconds makes merging the same points again a no-op.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from dataclasses import dataclass, field

from alleycat.domain.events import PointKey, RaceKey, Telemetry

BUCKET_S = 5  # seconds per bucket of the rolling outputs
BUCKETS = 12  # buckets kept: 60 s


def winners(events: Iterable[Telemetry]) -> dict[PointKey, Telemetry]:
    """The winning message for every key among ``events`` (duplicates collapse)."""
    best: dict[PointKey, Telemetry] = {}
    for ev in events:
        current = best.get(ev.key)
        if current is None or ev.beats(current):
            best[ev.key] = ev
    return best


@dataclass(slots=True)
class RacerScore:
    """One racer's running score in one race."""

    racer_id: int
    name: str
    class_id: int
    total_milli: int = 0
    max_milli: int = 0
    seconds: int = 0
    last_second: int = 0
    finished: bool = False
    counted: int = 0  # bitmap: bit s set when second s is counted
    current_milli: int = 0  # the point of ``last_second``
    # output per 5 s bucket, the latest (the bucket of ``last_second``) last; BUCKETS of them
    buckets: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    peak5_milli: int = 0  # best bucket so far
    peak60_milli: int = 0  # best sum of BUCKETS consecutive buckets so far
    rolling_milli: int = field(init=False, default=0, repr=False, compare=False)  # sum(buckets), kept up to date

    def __post_init__(self) -> None:
        self.rolling_milli = sum(self.buckets)

    def add(self, second: int, milli: int, final: bool = False) -> bool:
        """Count one point unless its second is already counted. Returns True if it counted."""
        return self.add_points(((second, milli),), final) > 0

    def add_points(self, points: Iterable[tuple[int, int]], final: bool = False) -> int:
        """Count each ``(second, milli)`` in turn unless its second is already counted (the bitmap);
        the 5 s buckets slide on when a point starts a new one, and a point older than the 60 s
        they cover counts to the total only. Returns how many counted. The fields are worked on as
        locals and written back once: this runs for every point of every window."""
        counted, total, best, last, current = (
            self.counted, self.total_milli, self.max_milli, self.last_second, self.current_milli
        )  # fmt: skip
        buckets, peak5, peak60 = self.buckets, self.peak5_milli, self.peak60_milli
        rolling = self.rolling_milli
        latest = _bucket(last) if last else None  # the bucket of the last second
        n = 0
        for second, milli in points:
            bit = 1 << second
            if counted & bit:
                continue
            counted |= bit
            total += milli
            n += 1
            if milli > best:
                best = milli
            bucket = (second - 1) // BUCKET_S  # _bucket(second), inlined: it runs per point
            if latest is None:
                latest = bucket
            elif bucket > latest:
                shift = min(bucket - latest, BUCKETS)
                rolling -= sum(buckets[:shift])
                buckets = [*buckets[shift:], *([0] * shift)]
                latest = bucket
            index = BUCKETS - 1 - (latest - bucket)
            if index >= 0:
                kept = buckets[index] = buckets[index] + milli
                rolling += milli
                if kept > peak5:
                    peak5 = kept
                if rolling > peak60:
                    peak60 = rolling
            if second >= last:
                last, current = second, milli
        self.counted, self.total_milli, self.max_milli, self.last_second, self.current_milli = (
            counted, total, best, last, current
        )  # fmt: skip
        self.buckets, self.peak5_milli, self.peak60_milli, self.rolling_milli = buckets, peak5, peak60, rolling
        self.seconds += n
        self.finished = self.finished or final
        return n

    def _elapsed(self, window_s: int) -> int:
        """Seconds of a rolling window that the race has run (the first minute is shorter)."""
        return max(1, min(window_s, self.last_second))

    @property
    def rolling5_output(self) -> float:
        """Average output per second over the latest 5 s bucket."""
        done = self.last_second - (_bucket(self.last_second) * BUCKET_S) if self.last_second else 0
        return round(self.buckets[-1] / max(1, done) / 1000, 3)

    @property
    def rolling60_output(self) -> float:
        """Average output per second over the latest 12 buckets (60 s, fewer at the start)."""
        return round(self.rolling_milli / self._elapsed(BUCKETS * BUCKET_S) / 1000, 3)

    @property
    def peak5_output(self) -> float:
        """Best 5 s bucket, per second (in the first 5 s: over the seconds ridden)."""
        return round(self.peak5_milli / self._elapsed(BUCKET_S) / 1000, 3)

    @property
    def peak60_output(self) -> float:
        """Best 60 s, per second (in the first minute: over the seconds ridden, i.e. the rolling 60 s)."""
        return round(self.peak60_milli / self._elapsed(BUCKETS * BUCKET_S) / 1000, 3)

    @property
    def current_output(self) -> float:
        return self.current_milli / 1000

    def add_event(self, ev: Telemetry) -> bool:
        return self.add(ev.second, ev.output_milli, ev.is_final)

    @property
    def total_output(self) -> float:
        return self.total_milli / 1000

    @property
    def max_output(self) -> float:
        return self.max_milli / 1000

    @property
    def avg_output(self) -> float:
        return round(self.total_milli / self.seconds / 1000, 3) if self.seconds else 0.0

    def to_compact(self) -> dict:
        """A small JSON-able form (DynamoDB map / window state)."""
        return {
            "n": self.name,
            "c": self.class_id,
            "t": self.total_milli,
            "m": self.max_milli,
            "s": self.seconds,
            "l": self.last_second,
            "f": self.finished,
            "b": base64.b64encode(self.counted.to_bytes((self.counted.bit_length() + 7) // 8, "little")).decode(),
            "o": self.current_milli,
            "k": self.buckets,
            "p": [self.peak5_milli, self.peak60_milli],
        }

    @classmethod
    def from_compact(cls, racer_id: int, doc: dict) -> RacerScore:
        return cls(
            racer_id=racer_id,
            name=doc["n"],
            class_id=int(doc["c"]),
            total_milli=int(doc["t"]),
            max_milli=int(doc["m"]),
            seconds=int(doc["s"]),
            last_second=int(doc["l"]),
            finished=bool(doc["f"]),
            counted=int.from_bytes(base64.b64decode(doc["b"]), "little"),
            # items written before the rider metrics have none: they start from zero
            current_milli=int(doc.get("o", 0)),
            buckets=[int(v) for v in doc.get("k", [0] * BUCKETS)],
            peak5_milli=int(doc.get("p", (0, 0))[0]),
            peak60_milli=int(doc.get("p", (0, 0))[1]),
        )


def _bucket(second: int) -> int:
    return (second - 1) // BUCKET_S


@dataclass(slots=True)
class RaceScores:
    """All racers' scores in one race (one class in one raceId slot)."""

    race_id: int
    class_id: int
    racers: dict[int, RacerScore] = field(default_factory=dict)

    def racer(self, racer_id: int, name: str, class_id: int) -> RacerScore:
        score = self.racers.get(racer_id)
        if score is None:
            score = self.racers[racer_id] = RacerScore(racer_id, name, class_id)
        return score

    @property
    def key(self) -> RaceKey:
        return RaceKey(self.race_id, self.class_id)

    def add_event(self, ev: Telemetry) -> bool:
        return self.racer(ev.racer_id, ev.name, ev.class_id).add_event(ev)

    def standings(self) -> list[RacerScore]:
        return rank(self.racers.values())

    def standing_rows(self, limit: int, previous: RaceScores | None = None) -> list[dict]:
        """The top ``limit`` standings as the wire shows them (camelCase, like the events), with the
        rider metrics: ``gapOutput`` (total behind the rider ahead; 0 for the leader) and
        ``previousRank`` (the place in ``previous``, the race before this change; None: new)."""
        before = {s.racer_id: place for place, s in enumerate(previous.standings(), 1)} if previous else {}
        ranked = self.standings()
        return [
            {
                "rank": place,
                "racerId": s.racer_id,
                "name": s.name,
                "totalOutput": s.total_output,
                "avgOutput": s.avg_output,
                "maxOutput": s.max_output,
                "seconds": s.seconds,
                "finished": s.finished,
                "lastSecond": s.last_second,
                "currentOutput": s.current_output,
                "rolling5Output": s.rolling5_output,
                "rolling60Output": s.rolling60_output,
                "peak5Output": s.peak5_output,
                "peak60Output": s.peak60_output,
                "gapOutput": (ranked[place - 2].total_milli - s.total_milli) / 1000 if place > 1 else 0.0,
                "previousRank": before.get(s.racer_id),
            }
            for place, s in enumerate(ranked[:limit], start=1)
        ]


def rank(scores: Iterable[RacerScore]) -> list[RacerScore]:
    """Highest total first; ties: lower racerId first."""
    return sorted(scores, key=lambda s: (-s.total_milli, s.racer_id))


def score_races(events: Iterable[Telemetry]) -> dict[RaceKey, RaceScores]:
    """The reference computation: exact scores of every race from any multiset of valid events.
    A racer is finished when any of their ``final`` messages arrived."""
    events = list(events)
    races: dict[RaceKey, RaceScores] = {}
    for ev in winners(events).values():
        race = races.get(ev.race)
        if race is None:
            race = races[ev.race] = RaceScores(ev.race_id, ev.class_id)
        race.add_event(ev)
    for ev in events:
        if ev.is_final:
            races[ev.race].racers[ev.racer_id].finished = True
    return races
