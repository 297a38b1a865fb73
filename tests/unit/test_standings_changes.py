"""Snapshot, then changes: a client that applies each change to the rows it holds has the rows of the
new version, field for field (previous ranks included), whatever the race did in between."""

from __future__ import annotations

import copy
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from alleycat.adapters.race_items import LiveRace
from alleycat.domain.scoring import RaceScores
from alleycat.domain.standings_changes import apply_changes, standings_changes
from consumers.publisher import MESSAGE_MAX_BYTES, live_message


def _race(racers: int, seconds: int, seed: int) -> tuple[RaceScores, random.Random]:
    rng = random.Random(seed)
    race = RaceScores(9, 3)
    for second in range(1, seconds + 1):
        for racer in range(racers):
            race.racer(100 + racer, f"r{racer}", 3).add(second, rng.randint(100_000, 400_000))
    return race, rng


def _ride(race: RaceScores, rng: random.Random, second: int, riders: list[int], joining: int) -> None:
    for racer in riders:
        race.racers[racer].add(second, rng.randint(0, 400_000), final=rng.random() < 0.1)
    for new in range(joining):
        race.racer(10_000 + second * 10 + new, "new", 3).add(second, rng.randint(0, 400_000))


@settings(max_examples=60, deadline=None)
@given(
    racers=st.integers(1, 40),
    top=st.integers(1, 45),
    seed=st.integers(0, 10_000),
    riding=st.floats(0, 1),
    joining=st.integers(0, 3),
)
def test_applying_the_changes_gives_the_new_rows(racers: int, top: int, seed: int, riding: float, joining: int) -> None:
    race, rng = _race(racers, 6, seed)
    # the client's rows of the old version (their previous ranks are from an older one: ignored)
    held = race.standing_rows(top, previous=None)
    for step in range(7, 10):
        old = copy.deepcopy(race)
        riders = [r for r in race.racers if rng.random() < riding]
        _ride(race, rng, step, riders, joining)
        expected = race.standing_rows(top, old)
        changes = standings_changes(old.standing_rows(top), expected)
        held = apply_changes(held, changes)
        assert held == expected
        ids = {r["racerId"] for r in expected}
        assert {row[0] for row in changes.rows} <= ids and not ({a["racerId"] for a in changes.added} - ids)


def test_a_rider_whose_row_did_not_change_is_not_sent() -> None:
    race, _ = _race(5, 3, 1)
    old = copy.deepcopy(race)
    last = race.standings()[-1].racer_id
    race.racers[last].add(4, 1)  # only the last rider rides a fourth second, and stays last
    changes = standings_changes(old.standing_rows(5), race.standing_rows(5, old))
    assert [row[0] for row in changes.rows] == [last]
    assert {"totalOutput", "seconds", "lastSecond", "gapOutput"} <= set(changes.fields)
    assert not {"name", "racerId", "previousRank", "rank"} & set(changes.fields)
    assert changes.added == [] and changes.removed == []


def test_leaving_the_top_is_a_removal_and_entering_it_a_whole_row() -> None:
    race, _ = _race(3, 2, 2)
    old = copy.deepcopy(race)
    last = race.standings()[-1].racer_id
    race.racers[last].add(3, 5_000_000)  # the last rider jumps to the front
    before, after = old.standing_rows(2), race.standing_rows(2, old)
    changes = standings_changes(before, after)
    assert changes.added == [next(r for r in after if r["racerId"] == last)]
    assert changes.added[0]["previousRank"] == 3  # from outside the top 2: the pipeline says where from
    assert changes.removed == [before[-1]["racerId"]]
    assert apply_changes(before, changes) == after


def test_the_message_of_a_thousand_riders_fits_an_iot_message_or_is_a_resync() -> None:
    race, rng = _race(1000, 30, 3)
    old = LiveRace(copy.deepcopy(race), 30, "2026-01-01T00:00:30Z", 0)
    _ride(race, rng, 31, list(race.racers), 0)
    new = LiveRace(race, 31, "2026-01-01T00:00:31Z", 0)
    message = live_message(new, old, 1000)
    size = len(json.dumps(message).encode())
    full = len(json.dumps(race.standing_rows(1000, old.race)).encode())
    assert message["type"] == "changes" and (message["version"], message["baseVersion"]) == (31, 30)
    assert len(message["rows"]) == 1000 and size < MESSAGE_MAX_BYTES < full  # every rider rode: all rows
    assert size < full / 3
    assert live_message(new, old, 1000, max_bytes=size - 1) == {
        "type": "resync", "raceId": 9, "classId": 3, "windowEnd": "2026-01-01T00:00:31Z", "version": 31
    }  # fmt: skip
    first = live_message(LiveRace(race, 1, None, 0), None, 10)
    assert first["baseVersion"] == 0 and len(first["added"]) == 10 and first["rows"] == []
