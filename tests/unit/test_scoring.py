"""What a score is: winners per key, exact totals, mergeable racer scores, ranking."""

from __future__ import annotations

import random
import uuid

from alleycat.domain.events import EventType, RaceKey, Telemetry, output_milli
from alleycat.domain.scoring import RacerScore, RaceScores, rank, score_races, winners


def event(
    second: int,
    racer: int = 1,
    cadence: float = 80.0,
    resistance: float = 78,
    ts: int | None = None,
    uid: str | None = None,
    kind: EventType = "update",
    race: int = 5_400_000,
    class_id: int = 2,
) -> Telemetry:
    return Telemetry(
        uuid=uid or str(uuid.UUID(int=random.getrandbits(128), version=4)),
        event=kind,
        device_timestamp=ts if ts is not None else 1_620_000_000_000 + second * 1000,
        second=second,
        race_id=race,
        name=f"r{racer}",
        racer_id=racer,
        class_id=class_id,
        cadence=cadence,
        resistance=resistance,
    )


def test_winners_collapse_duplicates_and_pick_the_later_message() -> None:
    first = event(5, cadence=60.0, ts=1_000, uid="11111111-1111-4111-8111-111111111111")
    later = event(5, cadence=70.0, ts=2_000, uid="00000000-1111-4111-8111-111111111111")
    tie = event(5, cadence=75.0, ts=2_000, uid="22222222-1111-4111-8111-111111111111")
    for order in ([first, later, tie, first], [tie, first, later, tie], [later, tie, first]):
        assert winners(order) == {first.key: tie}
    assert winners([first, first, first]) == {first.key: first}


def test_racer_score_sums_exact_thousandths_once_per_second() -> None:
    score = RacerScore(7, "Ana", 2)
    assert score.add(1, output_milli(80, 78))
    assert score.add(2, output_milli(30.1, 33))
    assert not score.add(1, 999_999)  # second 1 is already counted
    assert score.add(300, output_milli(90, 86), final=True)
    assert score.total_milli == 164_450 + round(65.1 * 98 * 10) + 125 * 151 * 10
    assert score.seconds == 3 and score.last_second == 300 and score.finished
    assert score.max_milli == 125 * 151 * 10
    assert score.total_output == score.total_milli / 1000
    assert score.avg_output == round(score.total_milli / 3 / 1000, 3)


def test_compact_round_trip_keeps_the_counted_seconds() -> None:
    score = RacerScore(7, "Ana", 2)
    for s in (1, 2, 150, 300):
        score.add(s, 100_000 + s)
    back = RacerScore.from_compact(7, score.to_compact())
    assert back == score
    assert not back.add(150, 5)  # merging the same point again is a no-op
    assert back.add(151, 5)


def test_rank_highest_total_first_ties_to_lower_racer_id() -> None:
    scores = [RacerScore(i, f"r{i}", 1, total_milli=t) for i, t in ((5, 100), (3, 200), (9, 200), (1, 50))]
    assert [s.racer_id for s in rank(scores)] == [3, 9, 5, 1]
    assert RacerScore(1, "x", 1).avg_output == 0.0


def test_score_races_matches_a_hand_computation_under_duplicates_and_shuffling() -> None:
    rng = random.Random(3)
    events = [
        event(s, racer=r, cadence=round(rng.uniform(30, 90), 1), resistance=rng.randint(33, 86))
        for r in (1, 2)
        for s in range(1, 11)
    ]
    events[-1] = event(10, racer=2, cadence=50.0, resistance=40, kind="final")
    expected = {
        r: sum(output_milli(e.cadence, e.resistance) for e in events if e.racer_id == r and e.second <= 10)
        for r in (1, 2)
    }
    noisy = events + rng.sample(events, 8)
    rng.shuffle(noisy)
    races = score_races(noisy)
    assert list(races) == [RaceKey(5_400_000, 2)] and events[0].race == RaceKey(5_400_000, 2)
    race = races[events[0].race]
    assert isinstance(race, RaceScores) and race.key == RaceKey(5_400_000, 2)
    assert {r: s.total_milli for r, s in race.racers.items()} == expected
    assert race.racers[2].finished and not race.racers[1].finished
    assert all(s.seconds == 10 for s in race.racers.values())
    assert [s.racer_id for s in race.standings()] == sorted(expected, key=lambda r: (-expected[r], r))


def test_two_classes_sharing_a_race_id_are_two_races() -> None:
    """Every class races in every 300 s slot: same raceId, different classId, separate standings."""
    slot = 5_400_000
    events = [
        event(s, racer=r, cadence=cadence, class_id=c, race=slot)
        for r, c, cadence in ((1, 1, 50.0), (2, 1, 60.0), (3, 4, 90.0), (4, 4, 40.0))
        for s in (1, 2, 3)
    ]
    events.append(event(3, racer=3, cadence=90.0, class_id=4, race=slot, kind="final"))
    events.append(event(1, racer=5, class_id=2, race=slot + 1))  # the next slot is another race
    races = score_races(events)
    assert set(races) == {RaceKey(slot, 1), RaceKey(slot, 4), RaceKey(slot + 1, 2)}
    class_1, class_4 = races[RaceKey(slot, 1)], races[RaceKey(slot, 4)]
    assert (class_1.race_id, class_1.class_id, class_1.key) == (slot, 1, RaceKey(slot, 1))
    assert (class_4.race_id, class_4.class_id, class_4.key) == (slot, 4, RaceKey(slot, 4))
    assert [s.racer_id for s in class_1.standings()] == [2, 1]  # racer 3 (class 4) is not in it
    assert [s.racer_id for s in class_4.standings()] == [3, 4]
    assert all(s.class_id == 1 for s in class_1.racers.values())
    assert class_4.racers[3].total_milli == 3 * output_milli(90.0, 78)
    assert class_4.racers[3].finished and not any(s.finished for s in class_1.racers.values())
    assert list(races[RaceKey(slot + 1, 2)].racers) == [5]


def test_rolling_and_peak_outputs_over_five_second_buckets() -> None:
    score = RacerScore(7, "Ana", 2)
    for second in range(1, 66):  # 100 W, except 200 W in seconds 1..5
        score.add(second, 200_000 if second <= 5 else 100_000)
    assert score.current_output == 100.0 and score.last_second == 65
    assert score.rolling5_output == 100.0  # the bucket 61..65
    assert score.rolling60_output == 100.0  # 6..65: the 200 W bucket has slid out
    assert score.peak5_output == 200.0  # the bucket 1..5
    assert score.peak60_output == round((55 * 100 + 5 * 200) / 60, 3)  # 1..60
    score.add(66, 400_000)  # a new bucket, one second in: its average so far
    assert score.rolling5_output == 400.0 and score.current_output == 400.0
    late = RacerScore(8, "Bo", 2)
    late.add(100, 100_000)
    assert late.add(10, 1_000_000)  # more than 60 s late: the total only
    assert late.total_milli == 1_100_000 and late.peak5_output == 20.0 and late.current_output == 100.0
    back = RacerScore.from_compact(7, score.to_compact())
    assert back == score


def test_rolling_outputs_at_the_start_average_over_the_seconds_ridden() -> None:
    score = RacerScore(7, "Ana", 2)
    for second in (1, 2, 3):
        score.add(second, 150_000)
    assert score.rolling5_output == score.rolling60_output == 150.0
    assert score.peak5_output == score.peak60_output == 150.0
    # a LIVE item written before the metrics existed reads back with them at zero
    old = {k: v for k, v in score.to_compact().items() if k not in ("o", "k", "p")}
    assert RacerScore.from_compact(7, old).rolling60_output == 0.0


def test_standing_rows_carry_the_gap_and_the_previous_rank() -> None:
    before = RaceScores(1, 2)
    for racer, milli in ((1, 300_000), (2, 200_000), (3, 100_000)):
        before.racer(racer, f"r{racer}", 2).add(1, milli)
    after = RaceScores(1, 2)
    for racer, milli in ((1, 300_000), (2, 200_000), (3, 100_000)):
        after.racer(racer, f"r{racer}", 2).add(1, milli)
    after.racers[3].add(2, 450_000)
    after.racer(4, "new", 2).add(2, 50_000)
    rows = after.standing_rows(10, before)
    assert [(r["racerId"], r["rank"], r["previousRank"], r["gapOutput"]) for r in rows] == [
        (3, 1, 3, 0.0),
        (1, 2, 1, 250.0),
        (2, 3, 2, 100.0),
        (4, 4, None, 150.0),
    ]
    assert after.standing_rows(2)[1]["previousRank"] is None
