"""The handlers' DynamoDB writes on the local stack: optimistic locking, idempotent replays,
results and bests."""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from alleycat.adapters.race_items import LiveRace, decimal_output, race_from_item
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain import keys
from alleycat.domain.events import RaceKey, Telemetry
from alleycat.domain.scoring import score_races
from alleycat.settings import Settings
from consumers import aggregator, final_results
from consumers.live_changes import LiveChange

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


@pytest.fixture
def table(stack: Settings) -> DynamoRaceTable:
    return DynamoRaceTable.from_settings(stack)


def window(evs: list[Telemetry]) -> dict:
    state: dict = {}
    for ev in evs:  # merge_records takes Kinesis records, as Lambda passes them
        record = {"kinesis": {"data": base64.b64encode(ev.to_json()).decode()}}
        aggregator.merge_records(state, [record])
    return state


def item_of(table: DynamoRaceTable, pk: str, sk: str) -> dict[str, Any]:
    item = table.item(pk, sk)
    assert item is not None, (pk, sk)
    return item


def change(old: dict | None, new: dict) -> LiveChange:
    """The LIVE change from item ``old`` to item ``new`` (as FinalResults gets it from the stream)."""
    return LiveChange("1", race_from_item(old) if old else None, race_from_item(new))


class LosesFirstRace:
    """The real table, where another writer lands between our first read and our write."""

    def __init__(self, table: DynamoRaceTable, other_writer: Callable[[], object]) -> None:
        self.table = table
        self.other_writer = other_writer
        self.raced = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.table, name)

    def read_live(self, race_id: int, class_id: int) -> LiveRace | None:
        live = self.table.read_live(race_id, class_id)
        if not self.raced:
            self.raced = True
            self.other_writer()
        return live


def test_flush_writes_live_once_and_a_replay_writes_nothing(table: DynamoRaceTable) -> None:
    race = next(_race_ids)
    evs = events(race, 3, range(1, 6))
    state = window(evs)
    assert aggregator.flush(table, state, "2030-01-01T00:00:05Z") == 1
    assert aggregator.flush(table, state, "2030-01-01T00:00:05Z") == 0  # replayed window: no write
    live = table.read_live(race, 3)
    assert live is not None and live.version == 1
    assert {r: s.to_compact() for r, s in live.race.racers.items()} == {
        r: s.to_compact() for r, s in score_races(evs)[RaceKey(race, 3)].racers.items()
    }
    item = item_of(table, keys.class_pk(3), keys.race_sk(race))
    assert item["status"] == "live"


def test_a_version_conflict_is_merged_again(table: DynamoRaceTable) -> None:
    race = next(_race_ids)
    first, second = events(race, 2, range(1, 4)), events(race, 2, range(4, 7))
    aggregator.flush(table, window(first), "w1")
    racing = LosesFirstRace(table, lambda: aggregator.flush(table, window(second[:2]), "w2"))
    key = RaceKey(race, 3)
    assert aggregator.flush_race(racing, key, window(second)["races"][aggregator.state_key(key)], "w3") == 1
    live = table.read_live(race, 3)
    assert live is not None and live.version == 3
    want = score_races(first + second)[key].racers[racer_base(race)]
    assert live.race.racers[racer_base(race)].to_compact() == want.to_compact()


def test_final_results_write_results_bests_and_complete_the_class_race(table: DynamoRaceTable) -> None:
    race = next(_race_ids)
    evs = events(race, 30, range(1, 4), final=True)  # 30 racers: two BatchWriteItem calls
    aggregator.flush(table, window(evs), "w")
    new_item = item_of(table, keys.race_pk(race, 3), keys.LIVE_SK)
    outcome = final_results.process_change(table, change(None, new_item))
    assert outcome.results == 30 and outcome.bests == 30 and outcome.completed
    rows = table.query_results(race, 3, 100)
    expected = score_races(evs)[RaceKey(race, 3)].standings()
    assert [int(r["racerId"]) for r in rows] == [s.racer_id for s in expected]
    assert [r["totalOutput"] for r in rows] == [decimal_output(s.total_milli) for s in expected]
    assert [int(r["rank"]) for r in rows] == list(range(1, 31)), "a completed race's results carry their ranks"
    assert (
        final_results.process_change(table, change(new_item, new_item)).results == 0
    )  # nothing changed: nothing written
    # a lower score elsewhere does not replace a best; a higher one does
    low = race_from_item(new_item).race.racers[racer_base(race)]
    low.total_milli -= 1000
    assert not table.put_best(race + 1, low, 0)
    low.total_milli += 5000
    assert table.put_best(race + 1, low, 0)
    best = item_of(table, keys.racer_pk(racer_base(race)), keys.best_sk(3))
    assert best["totalOutput"] == decimal_output(low.total_milli) and int(best["raceId"]) == race + 1
    cls = item_of(table, keys.class_pk(3), keys.race_sk(race))
    assert cls["status"] == "completed" and int(cls["racers"]) == 30


def test_the_classes_of_one_race_id_are_separate_races(table: DynamoRaceTable) -> None:
    race = next(_race_ids)
    done = events(race, 3, range(1, 4), cadence=90.0, final=True, cls=2)  # class 2: all finished
    riding = events(race, 2, range(1, 4), final=False, cls=5)  # class 5: still racing
    state = window(done + riding)
    assert aggregator.flush(table, state, "w") == 2  # one LIVE item per race
    for cls, evs in ((2, done), (5, riding)):
        live = table.read_live(race, cls)
        assert live is not None
        want = score_races(evs)[RaceKey(race, cls)]
        assert live.race.class_id == cls and live.version == 1
        assert {r: s.to_compact() for r, s in live.race.racers.items()} == {
            r: s.to_compact() for r, s in want.racers.items()
        }
    assert table.race_classes(race) == [2, 5]
    for cls in (2, 5):
        item = item_of(table, keys.race_pk(race, cls), keys.LIVE_SK)
        outcome = final_results.process_change(table, change(None, item))
        assert outcome.completed == (cls == 2)  # class 5's unfinished racers do not hold class 2 back
    assert [int(r["racerId"]) for r in table.query_results(race, 2, 100)] == [
        s.racer_id for s in score_races(done)[RaceKey(race, 2)].standings()
    ]
    assert table.query_results(race, 5, 100) == []  # nobody finished: no results, none from class 2
    statuses = {cls: item_of(table, keys.class_pk(cls), keys.race_sk(race)) for cls in (2, 5)}
    assert statuses[2]["status"] == "completed" and int(statuses[2]["racers"]) == 3
    assert statuses[5]["status"] == "live"
