"""The real-time handlers on AWS's sample event shapes (no server: DynamoDB is not touched)."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeSerializer

from alleycat.domain import keys
from alleycat.domain.events import RaceKey, Telemetry
from alleycat.domain.scoring import RaceScores, score_races
from consumers import aggregator, cli, dynamo, final_results, publisher
from consumers.deadletter import dead_letter
from consumers.publish import HttpPublisher, topic
from infra.local.processes import free_port

EVENTS = Path(__file__).parent / "events"
T = 1_700_000_000_000


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def telemetry(racer: int, second: int, cadence: float = 80.0, ts: int | None = None, event: str = "update",
              race: int = 5, uid: str | None = None, cls: int | None = None) -> Telemetry:  # fmt: skip
    """A point of racer ``racer`` (class ``cls``, by default ``1 + racer % 6``) in slot ``race``."""
    return Telemetry(uid or str(uuid.uuid4()), event, ts or T + second * 1000, second, race, f"r{racer}", racer,
                     1 + racer % 6 if cls is None else cls, cadence, 50)  # fmt: skip


def kinesis_event(events: list[Telemetry], template: str = "kinesis.json") -> dict[str, Any]:
    """The AWS sample event with our payloads in its records."""
    doc = sample(template)
    proto = doc["Records"][0]
    doc["Records"] = []
    for i, ev in enumerate(events):
        r = copy.deepcopy(proto)
        r["kinesis"]["data"] = base64.b64encode(ev.to_json()).decode()
        r["kinesis"]["sequenceNumber"] = str(49590338271490256608559692538361571095921575989136588898 + i)
        r["kinesis"]["partitionKey"] = str(ev.race_id)
        doc["Records"].append(r)
    return doc


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ALLEYCAT_HOME", str(tmp_path))
    monkeypatch.delenv("ALLEYCAT_DEAD_LETTER_BUCKET", raising=False)
    dead_letter.cache_clear()
    yield tmp_path
    dead_letter.cache_clear()


def test_the_aws_sample_records_are_rejected_and_dead_lettered_without_failing(home: Path) -> None:
    event = sample("kinesis-tumbling-window.json")
    event["state"] = {}
    response = aggregator.handler(event, None)
    assert response == {"state": {"races": {}}, "batchItemFailures": []}
    (path,) = (home / "dead-letter" / "aggregator").glob("*.jsonl")
    (line,) = path.read_text().splitlines()
    doc = json.loads(line)
    assert doc["reason"] == "bad_json" and doc["event_id"] == event["Records"][0]["eventID"]
    aggregator.handler(event, None)  # a replayed batch overwrites its own dead letter
    assert len(list((home / "dead-letter" / "aggregator").glob("*.jsonl"))) == 1


def test_window_state_keeps_the_winner_of_each_second_and_the_final_flag(home: Path) -> None:
    a = telemetry(1, 3, cadence=60.0, ts=T + 5000)
    b = telemetry(1, 3, cadence=90.0, ts=T + 9000)  # later deviceTimestamp: wins
    c = telemetry(1, 4, cadence=70.0, event="final")
    first = kinesis_event([b, a], "kinesis-tumbling-window.json")
    first["state"] = {}
    state = aggregator.handler(first, None)["state"]
    second = kinesis_event([a, c, c], "kinesis-tumbling-window.json")  # replay + duplicate
    second["state"] = json.loads(json.dumps(state))  # state passes through JSON
    state = aggregator.handler(second, None)["state"]
    assert list(state["races"]) == ["5#2"]  # racer 1 rides class 2: race (5, 2)
    racer = state["races"]["5#2"]["r"]["1"]
    assert racer["f"] is True
    assert racer["p"]["3"] == [b.output_milli, b.device_timestamp, b.uuid]
    assert racer["p"]["4"][0] == c.output_milli
    # the window, applied to an empty race, equals the reference computation
    live = dynamo.LiveRace(RaceScores(5, 2), 0, None, 0)
    assert aggregator.apply_window(live, state["races"]["5#2"])
    expected = score_races([a, b, c, c])[RaceKey(5, 2)].racers[1]
    assert live.race.racers[1].to_compact() == expected.to_compact()
    assert not aggregator.apply_window(live, state["races"]["5#2"])  # replaying the window: no change


def test_equal_timestamps_are_decided_by_the_larger_uuid(home: Path) -> None:
    low = telemetry(2, 7, cadence=40.0, ts=T, uid="00000000-0000-4000-8000-000000000000")
    high = telemetry(2, 7, cadence=50.0, ts=T, uid="ffffffff-0000-4000-8000-000000000000")
    state: dict[str, Any] = {}
    for order in ([low, high], [high, low]):
        state = {}
        aggregator.merge_records(state, kinesis_event(order)["Records"])
        assert state["races"]["5#3"]["r"]["2"]["p"]["7"][2] == high.uuid


def live_image(race: RaceScores, version: int) -> dict[str, Any]:
    item = dynamo.live_item(dynamo.LiveRace(race, version, "2020-12-09T07:06:00Z", T))
    ser = TypeSerializer()
    return {k: ser.serialize(v) for k, v in item.items()}


def test_publisher_sends_standings_and_the_changed_racers(monkeypatch: pytest.MonkeyPatch) -> None:
    before = score_races([telemetry(1, 1, cls=2), telemetry(2, 1, cls=2), telemetry(3, 1, cls=2)])[RaceKey(5, 2)]
    after = score_races(
        [telemetry(1, 1, cls=2), telemetry(2, 1, cls=2), telemetry(3, 1, cls=2), telemetry(2, 2, cadence=90.0, cls=2)]
    )[RaceKey(5, 2)]
    after.racers[1] = before.racers[1]
    after.racers[3] = before.racers[3]
    doc = sample("dynamodb-streams.json")
    modify = doc["Records"][1]
    modify["dynamodb"]["Keys"] = {"PK": {"S": keys.race_pk(5, 2)}, "SK": {"S": keys.LIVE_SK}}
    modify["dynamodb"]["OldImage"] = live_image(before, 1)
    modify["dynamodb"]["NewImage"] = live_image(after, 2)
    sent: list[tuple[RaceKey, dict]] = []

    class Fake:
        def publish(self, race: RaceKey, message: dict) -> bool:
            sent.append((race, message))
            return True

    monkeypatch.setattr(publisher, "live_publisher", Fake)
    assert publisher.handler(doc, None) == {"batchItemFailures": []}  # the sample's other items are skipped
    ((race, message),) = sent
    assert race == RaceKey(5, 2) and message["raceId"] == 5 and message["classId"] == 2
    assert message["type"] == "standings" and message["changed"] == [2]
    assert [row["racerId"] for row in message["standings"]] == [s.racer_id for s in after.standings()]
    assert message["standings"][0]["rank"] == 1
    assert message["standings"][0]["totalOutput"] == after.standings()[0].total_output
    assert message["windowEnd"] == "2020-12-09T07:06:00Z"


def test_local_publish_drops_when_the_api_is_down() -> None:
    down = HttpPublisher(f"http://127.0.0.1:{free_port()}/internal/live", timeout_s=0.5)
    assert down.publish(RaceKey(5, 2), {"type": "standings"}) is False


def test_each_race_class_has_its_own_topic() -> None:
    assert topic(5, 2) == "alleycat/races/5/2/standings"
    assert len({topic(5, c) for c in range(1, 7)} | {topic(6, 2)}) == 7


def test_changed_racers_compares_compact_scores() -> None:
    old = score_races([telemetry(1, 1, cls=4), telemetry(2, 1, cls=4)])[RaceKey(5, 4)]
    new = score_races([telemetry(1, 1, cls=4), telemetry(2, 1, cls=4), telemetry(3, 1, cls=4)])[RaceKey(5, 4)]
    new.racers[1] = old.racers[1]
    new.racers[2] = copy.deepcopy(old.racers[2])
    new.racers[2].finished = True
    assert sorted(dynamo.changed_racers(old, new)) == [2, 3]
    assert sorted(dynamo.changed_racers(None, new)) == [1, 2, 3]


class FakeRaceStore:
    """The LIVE and CLASS race writes of ``consumers.dynamo``, in memory (same keys, same conditions)."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.class_puts: list[tuple[int, int]] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> FakeRaceStore:
        monkeypatch.setattr(dynamo, "read_live", self.read_live)
        monkeypatch.setattr(dynamo, "put_live", self.put_live)
        monkeypatch.setattr(dynamo, "put_class_race", self.put_class_race)
        return self

    def read_live(self, race_id: int, class_id: int) -> dynamo.LiveRace | None:
        item = self.items.get((keys.race_pk(race_id, class_id), keys.LIVE_SK))
        return dynamo.race_from_item(copy.deepcopy(item)) if item else None

    def put_live(self, live: dynamo.LiveRace, expected_version: int | None) -> bool:
        item = dynamo.live_item(live)
        stored = self.items.get((item["PK"], item["SK"]))
        if (stored["version"] if stored else None) != expected_version:
            return False
        self.items[(item["PK"], item["SK"])] = item
        return True

    def put_class_race(self, race_id: int, class_id: int, started_at: int) -> bool:
        self.class_puts.append((race_id, class_id))
        key = (keys.class_pk(class_id), keys.race_sk(race_id))
        if key in self.items:
            return False
        self.items[key] = {"raceId": race_id, "classId": class_id, "status": "live", "startedAt": started_at}
        return True


def test_a_window_of_every_class_in_a_slot_writes_one_live_item_per_race(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FakeRaceStore().install(monkeypatch)
    # racers 0..11 in slot 5 (two per class), racer 20 in slot 6: seven races
    evs = [telemetry(r, s) for r in range(12) for s in (1, 2, 3)] + [telemetry(20, 1, race=6)]
    event = kinesis_event(evs, "kinesis-tumbling-window.json")
    event["state"] = {}
    state = aggregator.handler(event, None)["state"]
    want = score_races(evs)
    assert len(want) == 7
    assert {aggregator.race_of(k) for k in state["races"]} == set(want)
    assert aggregator.flush(state, "2030-01-01T00:00:05Z") == 7  # one LIVE write per race
    lives = {k: v for k, v in store.items.items() if k[1] == keys.LIVE_SK}
    assert set(lives) == {(keys.race_pk(*race), keys.LIVE_SK) for race in want}
    for race, scores in want.items():
        live = store.read_live(*race)
        assert (live.race.race_id, live.race.class_id, live.version) == (race.race_id, race.class_id, 1)
        assert {r: s.to_compact() for r, s in live.race.racers.items()} == {
            r: s.to_compact() for r, s in scores.racers.items()
        }
        assert {s.class_id for s in live.race.racers.values()} == {race.class_id}  # no class mixed in
    assert sorted(store.class_puts) == sorted(want)  # each race's CLASS item, on first sight
    assert aggregator.flush(state, "2030-01-01T00:00:05Z") == 0  # replayed window: no write
    assert len(store.class_puts) == 7


def test_a_racer_is_counted_only_in_the_race_of_their_class(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FakeRaceStore().install(monkeypatch)
    one, other = telemetry(1, 1, cls=2), telemetry(2, 1, cls=3)
    state: dict[str, Any] = {}
    aggregator.merge_records(state, kinesis_event([one, other])["Records"])
    assert aggregator.flush(state, "w") == 2
    assert set(store.read_live(5, 2).race.racers) == {1}
    assert set(store.read_live(5, 3).race.racers) == {2}


def test_final_results_complete_a_race_when_all_its_racers_finished(monkeypatch: pytest.MonkeyPatch) -> None:
    written: list[dict] = []
    completed: list[tuple[int, int, int]] = []
    monkeypatch.setattr(dynamo, "batch_write", lambda items: written.extend(items) or 1)
    monkeypatch.setattr(dynamo, "put_best", lambda race_id, score, updated_at: True)
    monkeypatch.setattr(dynamo, "complete_class_race", lambda r, c, n: completed.append((r, c, n)))

    def item(events: list[Telemetry]) -> dict:
        (race,) = score_races(events).values()
        return dynamo.live_item(dynamo.LiveRace(race, 1, "w", T))

    running = [telemetry(1, 1, cls=3, event="final"), telemetry(2, 1, cls=3)]
    outcome = final_results.process_change(None, item(running))
    assert (outcome.results, outcome.completed, completed) == (1, False, [])  # racer 2 still riding
    assert [(r["PK"], r["GSI1PK"], r["SK"]) for r in written] == [
        (keys.race_pk(5, 3), keys.race_pk(5, 3), keys.result_sk(1))
    ]
    done = [*running, telemetry(2, 2, cls=3, event="final")]
    outcome = final_results.process_change(item(running), item(done))
    assert (outcome.results, outcome.completed, completed) == (1, True, [(5, 3, 2)])
    assert written[-1]["PK"] == keys.race_pk(5, 3) and written[-1]["SK"] == keys.result_sk(2)


class FakeTable:
    """Answers GetItem for the given keys; any other call fails the test."""

    def __init__(self, present: set[tuple[str, str]]) -> None:
        self.present = present
        self.gets: list[tuple[str, str]] = []

    def get_item(self, Key: dict, **kwargs: Any) -> dict:
        key = (Key["PK"], Key["SK"])
        self.gets.append(key)
        return {"Item": dict(Key)} if key in self.present else {}


def test_race_classes_reads_the_class_race_items_with_one_get_per_class(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeTable({(keys.class_pk(2), keys.race_sk(7)), (keys.class_pk(5), keys.race_sk(7))})
    monkeypatch.setattr(dynamo, "table", lambda: fake)
    assert dynamo.race_classes(7) == [2, 5]
    assert fake.gets == [(keys.class_pk(c), keys.race_sk(7)) for c in range(1, 7)]


def result(race_id: int, class_id: int, racer: int, total: float) -> dict:
    return {"racerId": racer, "name": f"r{racer}", "totalOutput": total, "avgOutput": 1, "maxOutput": 2,
            "seconds": 3, "finished": True, "raceId": race_id, "classId": class_id}  # fmt: skip


def leaderboard(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["leaderboard", *argv])
    return args.func(args)


def test_leaderboard_prints_every_class_of_a_race_id_or_the_one_asked_for(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = {(7, 2): [result(7, 2, 11, 9.0), result(7, 2, 12, 8.0)], (7, 5): [result(7, 5, 51, 7.0)]}
    queried: list[tuple[int, int, int]] = []

    def query_results(race_id: int, class_id: int, limit: int) -> list[dict]:
        queried.append((race_id, class_id, limit))
        return boards.get((race_id, class_id), [])[:limit]

    monkeypatch.setattr(dynamo, "race_classes", lambda race_id: sorted(c for r, c in boards if r == race_id))
    monkeypatch.setattr(dynamo, "query_results", query_results)

    assert leaderboard(["--race", "7"]) == 0
    out = capsys.readouterr().out
    assert "race 7 class 2 (final results)" in out and "race 7 class 5 (final results)" in out
    assert queried == [(7, 2, 1000), (7, 5, 1000)]

    assert leaderboard(["--race", "7", "--class", "5", "--json", "--limit", "10"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["raceId"], r["classId"], r["rank"], r["racerId"]) for r in rows] == [(7, 5, 1, 51)]
    assert queried[-1] == (7, 5, 10)

    assert leaderboard(["--race", "7", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["classId"], r["rank"], r["racerId"]) for r in rows] == [(2, 1, 11), (2, 2, 12), (5, 1, 51)]

    assert leaderboard(["--race", "7", "--class", "3"]) == 1  # no such race: nothing merged in from other classes
    assert "race 7 class 3: no results" in capsys.readouterr().out
    assert leaderboard(["--race", "8"]) == 1
    assert "no class has a race" in capsys.readouterr().out
