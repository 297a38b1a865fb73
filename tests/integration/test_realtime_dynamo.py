"""The handlers' DynamoDB writes on the local stack: optimistic locking, idempotent replays,
results and bests."""

from __future__ import annotations

import base64
import itertools
import uuid

import pytest

from alleycat.domain import keys
from alleycat.domain.events import RaceKey, Telemetry
from alleycat.domain.scoring import score_races
from alleycat.settings import Settings
from consumers import aggregator, dynamo, final_results

pytestmark = pytest.mark.stack
T = 1_900_000_000_000
_race_ids = itertools.count(7_000_000 + uuid.uuid4().int % 1_000_000 * 10)


def racer_base(race: int, cls: int = 3) -> int:
    return race % 100_000 * 100 + cls * 10


def events(
    race: int, racers: int, seconds: range, cadence: float = 80.0, final: bool = False, cls: int = 3
) -> list[Telemetry]:
    """Points of ``racers`` racers of class ``cls`` in slot ``race`` (racerIds differ per class)."""
    return [
        Telemetry(
            str(uuid.uuid4()),
            "final" if final and s == seconds[-1] else "update",
            T + s * 1000,
            s,
            race,
            f"n{r}",
            racer_base(race, cls) + r,
            cls,
            cadence + r,
            40,
        )
        for r in range(racers)
        for s in seconds
    ]


def window(evs: list[Telemetry]) -> dict:
    state: dict = {}
    for ev in evs:  # merge_records takes Kinesis records, as Lambda passes them
        aggregator.merge_records(state, [{"kinesis": {"data": base64.b64encode(ev.to_json()).decode()}}])
    return state


def test_flush_writes_live_once_and_a_replay_writes_nothing(stack: Settings) -> None:
    race = next(_race_ids)
    evs = events(race, 3, range(1, 6))
    state = window(evs)
    assert aggregator.flush(state, "2030-01-01T00:00:05Z") == 1
    assert aggregator.flush(state, "2030-01-01T00:00:05Z") == 0  # replayed window: no write
    live = dynamo.read_live(race, 3)
    assert live.version == 1
    assert {r: s.to_compact() for r, s in live.race.racers.items()} == {
        r: s.to_compact() for r, s in score_races(evs)[RaceKey(race, 3)].racers.items()
    }
    item = dynamo.table().get_item(Key={"PK": keys.class_pk(3), "SK": keys.race_sk(race)})["Item"]
    assert item["status"] == "live"


def test_a_version_conflict_is_merged_again(stack: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    race = next(_race_ids)
    first, second = events(race, 2, range(1, 4)), events(race, 2, range(4, 7))
    aggregator.flush(window(first), "w1")
    real_read = dynamo.read_live
    raced = []

    def read_then_lose(race_id: int, class_id: int) -> dynamo.LiveRace | None:
        live = real_read(race_id, class_id)
        if not raced:  # another writer lands between our read and our write
            raced.append(1)
            aggregator.flush(window(second[:2]), "w2")
        return live

    monkeypatch.setattr(dynamo, "read_live", read_then_lose)
    key = RaceKey(race, 3)
    assert aggregator.flush_race(key, window(second)["races"][aggregator.state_key(key)], "w3") == 1
    live = real_read(race, 3)
    assert live.version == 3
    want = score_races(first + second)[key].racers[racer_base(race)]
    assert live.race.racers[racer_base(race)].to_compact() == want.to_compact()


def test_final_results_write_results_bests_and_complete_the_class_race(stack: Settings) -> None:
    race = next(_race_ids)
    evs = events(race, 30, range(1, 4), final=True)  # 30 racers: two BatchWriteItem calls
    aggregator.flush(window(evs), "w")
    new_item = dynamo.table().get_item(Key={"PK": keys.race_pk(race, 3), "SK": keys.LIVE_SK})["Item"]
    outcome = final_results.process_change(None, new_item)
    assert outcome.results == 30 and outcome.bests == 30 and outcome.completed
    rows = dynamo.query_results(race, 3, 100)
    expected = score_races(evs)[RaceKey(race, 3)].standings()
    assert [int(r["racerId"]) for r in rows] == [s.racer_id for s in expected]
    assert [r["totalOutput"] for r in rows] == [dynamo.decimal_output(s.total_milli) for s in expected]
    assert final_results.process_change(new_item, new_item).results == 0  # nothing changed: nothing written
    # a lower score elsewhere does not replace a best; a higher one does
    low = dynamo.race_from_item(new_item).race.racers[racer_base(race)]
    low.total_milli -= 1000
    assert not dynamo.put_best(race + 1, low, 0)
    low.total_milli += 5000
    assert dynamo.put_best(race + 1, low, 0)
    best = dynamo.table().get_item(Key={"PK": keys.racer_pk(racer_base(race)), "SK": keys.best_sk(3)})["Item"]
    assert best["totalOutput"] == dynamo.decimal_output(low.total_milli) and int(best["raceId"]) == race + 1
    cls = dynamo.table().get_item(Key={"PK": keys.class_pk(3), "SK": keys.race_sk(race)})["Item"]
    assert cls["status"] == "completed" and int(cls["racers"]) == 30


def test_the_classes_of_one_race_id_are_separate_races(stack: Settings) -> None:
    race = next(_race_ids)
    done = events(race, 3, range(1, 4), cadence=90.0, final=True, cls=2)  # class 2: all finished
    riding = events(race, 2, range(1, 4), final=False, cls=5)  # class 5: still racing
    state = window(done + riding)
    assert aggregator.flush(state, "w") == 2  # one LIVE item per race
    for cls, evs in ((2, done), (5, riding)):
        live = dynamo.read_live(race, cls)
        want = score_races(evs)[RaceKey(race, cls)]
        assert live.race.class_id == cls and live.version == 1
        assert {r: s.to_compact() for r, s in live.race.racers.items()} == {
            r: s.to_compact() for r, s in want.racers.items()
        }
    assert dynamo.race_classes(race) == [2, 5]
    for cls in (2, 5):
        item = dynamo.table().get_item(Key={"PK": keys.race_pk(race, cls), "SK": keys.LIVE_SK})["Item"]
        outcome = final_results.process_change(None, item)
        assert outcome.completed == (cls == 2)  # class 5's unfinished racers do not hold class 2 back
    assert [int(r["racerId"]) for r in dynamo.query_results(race, 2, 100)] == [
        s.racer_id for s in score_races(done)[RaceKey(race, 2)].standings()
    ]
    assert dynamo.query_results(race, 5, 100) == []  # nobody finished: no results, none from class 2
    statuses = {
        cls: dynamo.table().get_item(Key={"PK": keys.class_pk(cls), "SK": keys.race_sk(race)})["Item"] for cls in (2, 5)
    }
    assert statuses[2]["status"] == "completed" and int(statuses[2]["racers"]) == 3
    assert statuses[5]["status"] == "live"
