"""The real-time handlers on AWS's sample event shapes (no server: the race table is the shipped
in-memory one, ``alleycat.testing.race_table``)."""

from __future__ import annotations

import argparse
import base64
import copy
import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import KinesisStreamEvent
from boto3.dynamodb.types import TypeSerializer

from alleycat.adapters.dead_letter import LocalDeadLetter
from alleycat.adapters.live_channel import HttpPublisher
from alleycat.adapters.race_items import LiveRace, live_item, result_item
from alleycat.adapters.race_table import DynamoRaceTable, RaceTable, RaceTableError
from alleycat.cli import leaderboard as leaderboard_cli
from alleycat.domain import keys
from alleycat.domain.events import TIMESTAMP_RANGE, EventType, RaceKey, Telemetry
from alleycat.domain.keys import live_topic as topic
from alleycat.domain.scoring import RaceScores, score_races
from alleycat.domain.standings_changes import Changes, apply_changes
from alleycat.settings import Settings
from alleycat.testing.live_channel import RecordingPublisher
from alleycat.testing.race_table import InMemoryRaceTable
from consumers import aggregator, final_results, publisher
from consumers.live_changes import LiveChange, changed_racers
from consumers.observability import Handled, Observability
from infra.local.processes import free_port

EVENTS = Path(__file__).parent / "events"
T = 1_700_000_000_000


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def telemetry(racer: int, second: int, cadence: float = 80.0, ts: int | None = None, event: EventType = "update",
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
def home(tmp_path: Path) -> Path:
    return tmp_path


def aggregate(event: dict[str, Any], deps: aggregator.Dependencies) -> dict[str, Any]:
    """The Aggregator's answer to ``event`` (Lambda's dict, as the entry point wraps it)."""
    return aggregator.handle(KinesisStreamEvent(event), deps).response


def deps(home: Path, table: RaceTable | None = None) -> aggregator.Dependencies:
    """The aggregator's dependencies: an in-memory race table, dead letters under ``home``."""
    return aggregator.Dependencies(table or InMemoryRaceTable(), LocalDeadLetter(home / "dead-letter"))


def records(event: dict[str, Any]) -> list[dict[str, Any]]:
    return event["Records"]


def test_the_aws_sample_records_are_rejected_and_dead_lettered_without_failing(home: Path) -> None:
    event = sample("kinesis-tumbling-window.json")
    event["state"] = {}
    response = aggregate(event, deps(home))
    assert response == {"state": {"races": {}}, "batchItemFailures": []}
    (path,) = (home / "dead-letter" / "aggregator").glob("*.jsonl")
    (line,) = path.read_text().splitlines()
    doc = json.loads(line)
    assert doc["reason"] == "bad_json" and doc["event_id"] == event["Records"][0]["eventID"]
    aggregate(event, deps(home))  # a replayed batch overwrites its own dead letter
    assert len(list((home / "dead-letter" / "aggregator").glob("*.jsonl"))) == 1


def test_window_state_keeps_the_winner_of_each_second_and_the_final_flag(home: Path) -> None:
    a = telemetry(1, 3, cadence=60.0, ts=T + 5000)
    b = telemetry(1, 3, cadence=90.0, ts=T + 9000)  # later deviceTimestamp: wins
    c = telemetry(1, 4, cadence=70.0, event="final")
    first = kinesis_event([b, a], "kinesis-tumbling-window.json")
    first["state"] = {}
    state = aggregate(first, deps(home))["state"]
    second = kinesis_event([a, c, c], "kinesis-tumbling-window.json")  # replay + duplicate
    second["state"] = json.loads(json.dumps(state))  # state passes through JSON
    state = aggregate(second, deps(home))["state"]
    assert list(state["races"]) == ["5#2"]  # racer 1 rides class 2: race (5, 2)
    racer = state["races"]["5#2"]["r"]["1"]
    assert racer["f"] is True
    assert racer["p"]["3"] == f"{b.device_timestamp}{b.uuid}{b.output_milli}"
    assert racer["p"]["4"].endswith(f"{c.uuid}{c.output_milli}")
    # the window, applied to an empty race, equals the reference computation
    live = LiveRace(RaceScores(5, 2), 0, None, 0)
    assert aggregator.apply_window(live, state["races"]["5#2"])
    expected = score_races([a, b, c, c])[RaceKey(5, 2)].racers[1]
    assert live.race.racers[1].to_compact() == expected.to_compact()
    assert not aggregator.apply_window(live, state["races"]["5#2"])  # replaying the window: no change


def test_a_window_begun_before_the_points_became_text_goes_on_after_the_deploy(home: Path) -> None:
    """Lambda hands a window's state to whatever code runs next: one with the points in their old
    form (``[milli, deviceTimestamp, uuid]``) is converted, and the window equals the reference."""
    a = telemetry(1, 3, cadence=60.0, ts=T + 5000)
    b = telemetry(1, 3, cadence=90.0, ts=T + 9000)
    c = telemetry(1, 4, cadence=70.0)
    old = {"n": a.name, "f": False, "p": {"3": [a.output_milli, a.device_timestamp, a.uuid]}}
    event = kinesis_event([b, c], "kinesis-tumbling-window.json")
    event["state"] = {"races": {"5#2": {"r": {"1": old}}}}
    state = aggregate(event, deps(home))["state"]
    live = LiveRace(RaceScores(5, 2), 0, None, 0)
    aggregator.apply_window(live, state["races"]["5#2"])
    assert live.race.racers[1].to_compact() == score_races([a, b, c])[RaceKey(5, 2)].racers[1].to_compact()


def test_equal_timestamps_are_decided_by_the_larger_uuid(home: Path) -> None:
    low = telemetry(2, 7, cadence=40.0, ts=T, uid="00000000-0000-4000-8000-000000000000")
    high = telemetry(2, 7, cadence=50.0, ts=T, uid="ffffffff-0000-4000-8000-000000000000")
    state: dict[str, Any] = {}
    for order in ([low, high], [high, low]):
        state = {}
        aggregator.merge_records(state, records(kinesis_event(order)))
        assert state["races"]["5#3"]["r"]["2"]["p"]["7"] == f"{T}{high.uuid}{high.output_milli}"


def test_the_winning_rule_holds_in_the_state_over_the_whole_valid_range() -> None:
    """The window state keeps a point's (deviceTimestamp, uuid) as text (``RANK_CHARS``): for any two
    messages for one second, from 2000 (12-digit timestamps) to 2100, in either order, the one
    ``Telemetry.beats`` picks is the one counted."""
    low, high = TIMESTAMP_RANGE
    uuids = [
        "00000000-0000-4000-8000-000000000000",
        "0fffffff-0000-4000-8000-000000000000",
        "ffffffff-ffff-4fff-bfff-ffffffffffff",
    ]
    precedences = [(ts, u) for ts in (low, 999_999_999_999, 1_000_000_000_000, T, high) for u in uuids]
    events = [telemetry(2, 7, cadence=10.0 + i, ts=ts, uid=u) for i, (ts, u) in enumerate(precedences)]
    for a, b in itertools.combinations(events, 2):
        winner = a if a.beats(b) else b
        for order in ([a, b], [b, a]):
            state: dict[str, Any] = {}
            aggregator.merge_records(state, records(kinesis_event(order)))
            live = LiveRace(RaceScores(5, 3), 0, None, 0)
            aggregator.apply_window(live, state["races"]["5#3"])
            assert live.race.racers[2].total_milli == winner.output_milli


def live_image(race: RaceScores, version: int) -> dict[str, Any]:
    item = live_item(LiveRace(race, version, "2020-12-09T07:06:00Z", T))
    ser = TypeSerializer()
    return {k: ser.serialize(v) for k, v in item.items()}


def test_publisher_sends_the_changes_of_each_live_change() -> None:
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
    channel = RecordingPublisher()
    handled = publisher.handle(doc, publisher.Dependencies(channel, 1000))
    assert handled.response == {"batchItemFailures": []}  # the sample's other items are skipped
    ((race, message),) = channel.sent
    assert race == RaceKey(5, 2) and message["raceId"] == 5 and message["classId"] == 2
    assert (message["type"], message["version"], message["baseVersion"]) == ("changes", 2, 1)
    # the rows that changed: racer 2 rode a second second (and so did the gaps around them)
    rows = {row[0]: dict(zip(message["fields"], row[1:], strict=True)) for row in message["rows"]}
    assert rows[2]["totalOutput"] == after.racers[2].total_output and rows[2]["seconds"] == 2
    new_rows = after.standing_rows(1000, before)
    assert apply_changes(before.standing_rows(1000), standings_changes_of(message)) == new_rows
    assert message["windowEnd"] == "2020-12-09T07:06:00Z"


def standings_changes_of(message: dict[str, Any]) -> Changes:
    return Changes(message["fields"], message["rows"], message["added"], message["removed"])


def test_local_publish_drops_when_the_api_is_down() -> None:
    down = HttpPublisher(f"http://127.0.0.1:{free_port()}/internal/live", "token", timeout_s=0.5)
    assert down.publish(RaceKey(5, 2), {"type": "changes"}) is False


def test_each_race_class_has_its_own_topic() -> None:
    assert topic(5, 2) == "alleycat/races/5/2/standings"
    assert len({topic(5, c) for c in range(1, 7)} | {topic(6, 2)}) == 7


def test_changed_racers_compares_compact_scores() -> None:
    old = score_races([telemetry(1, 1, cls=4), telemetry(2, 1, cls=4)])[RaceKey(5, 4)]
    new = score_races([telemetry(1, 1, cls=4), telemetry(2, 1, cls=4), telemetry(3, 1, cls=4)])[RaceKey(5, 4)]
    new.racers[1] = old.racers[1]
    new.racers[2] = copy.deepcopy(old.racers[2])
    new.racers[2].finished = True
    assert sorted(changed_racers(old, new)) == [2, 3]
    assert sorted(changed_racers(None, new)) == [1, 2, 3]


def test_a_window_of_every_class_in_a_slot_writes_one_live_item_per_race(home: Path) -> None:
    store = InMemoryRaceTable()
    # racers 0..11 in slot 5 (two per class), racer 20 in slot 6: seven races
    evs = [telemetry(r, s) for r in range(12) for s in (1, 2, 3)] + [telemetry(20, 1, race=6)]
    event = kinesis_event(evs, "kinesis-tumbling-window.json")
    event["state"] = {}
    state = aggregate(event, deps(home, store))["state"]
    want = score_races(evs)
    assert len(want) == 7
    assert {aggregator.race_of(k) for k in state["races"]} == set(want)
    assert aggregator.flush(store, state, "2030-01-01T00:00:05Z") == 7  # one LIVE write per race
    lives = {k: v for k, v in store.items.items() if k[1] == keys.LIVE_SK}
    assert set(lives) == {(keys.race_pk(*race), keys.LIVE_SK) for race in want}
    for race, scores in want.items():
        live = store.read_live(*race)
        assert live is not None
        assert (live.race.race_id, live.race.class_id, live.version) == (race.race_id, race.class_id, 1)
        assert {r: s.to_compact() for r, s in live.race.racers.items()} == {
            r: s.to_compact() for r, s in scores.racers.items()
        }
        assert {s.class_id for s in live.race.racers.values()} == {race.class_id}  # no class mixed in
    assert sorted(store.class_puts) == sorted(want)  # each race's CLASS item, on first sight
    assert aggregator.flush(store, state, "2030-01-01T00:00:05Z") == 0  # replayed window: no write
    assert len(store.class_puts) == 7


def test_a_racer_is_counted_only_in_the_race_of_their_class() -> None:
    store = InMemoryRaceTable()
    one, other = telemetry(1, 1, cls=2), telemetry(2, 1, cls=3)
    state: dict[str, Any] = {}
    aggregator.merge_records(state, records(kinesis_event([one, other])))
    assert aggregator.flush(store, state, "w") == 2
    assert set(store.read_live(5, 2).race.racers) == {1}  # type: ignore[union-attr]
    assert set(store.read_live(5, 3).race.racers) == {2}  # type: ignore[union-attr]


def test_final_results_complete_a_race_when_all_its_racers_finished() -> None:
    table = InMemoryRaceTable()
    written = table.written_results
    completed = table.completions

    def item(events: list[Telemetry]) -> LiveRace:
        (race,) = score_races(events).values()
        return LiveRace(race, 1, "w", T)

    running = [telemetry(1, 1, cls=3, event="final"), telemetry(2, 1, cls=3)]
    outcome = final_results.process_change(table, LiveChange("1", None, item(running)))
    assert (outcome.results, outcome.completed, completed) == (1, False, [])  # racer 2 still riding
    assert [(r["PK"], r["GSI1PK"], r["SK"]) for r in written] == [
        (keys.race_pk(5, 3), keys.race_pk(5, 3), keys.result_sk(1))
    ]
    assert "rank" not in written[0], "ranks still move while racer 2 rides"
    done = [*running, telemetry(2, 2, cls=3, event="final")]
    outcome = final_results.process_change(table, LiveChange("2", item(running), item(done)))
    # complete: every result of the race again, now with the domain's rank (racer 2 rode two seconds)
    assert (outcome.results, outcome.completed, completed) == (2, True, [(5, 3, 2)])
    assert [(r["SK"], r["rank"]) for r in written[-2:]] == [(keys.result_sk(2), 1), (keys.result_sk(1), 2)]


class FakeTable:
    """Answers GetItem for the given keys; any other call fails the test."""

    def __init__(self, present: set[tuple[str, str]]) -> None:
        self.present = present
        self.gets: list[tuple[str, str]] = []

    def get_item(self, Key: dict, **kwargs: Any) -> dict:
        key = (Key["PK"], Key["SK"])
        self.gets.append(key)
        return {"Item": dict(Key)} if key in self.present else {}


def test_race_classes_reads_the_class_race_items_with_one_get_per_class() -> None:
    fake = FakeTable({(keys.class_pk(2), keys.race_sk(7)), (keys.class_pk(5), keys.race_sk(7))})
    assert DynamoRaceTable(fake).race_classes(7) == [2, 5]  # type: ignore[arg-type]
    assert fake.gets == [(keys.class_pk(c), keys.race_sk(7)) for c in range(1, 7)]


def result(race_id: int, class_id: int, racer: int, total: float) -> dict:
    return {"racerId": racer, "name": f"r{racer}", "totalOutput": total, "avgOutput": 1, "maxOutput": 2,
            "seconds": 3, "finished": True, "raceId": race_id, "classId": class_id}  # fmt: skip


class Boards(InMemoryRaceTable):
    """Fixed boards, and the queries made of them."""

    def __init__(self, boards: dict[tuple[int, int], list[dict[str, Any]]]) -> None:
        super().__init__()
        self.boards = boards
        self.queried: list[tuple[int, int, int]] = []

    def race_classes(self, race_id: int) -> list[int]:
        return sorted(c for r, c in self.boards if r == race_id)

    def query_results(self, race_id: int, class_id: int, limit: int) -> list[dict[str, Any]]:
        self.queried.append((race_id, class_id, limit))
        return self.boards.get((race_id, class_id), [])[:limit]


def leaderboard(argv: list[str], table: RaceTable) -> int:
    parser = argparse.ArgumentParser()
    leaderboard_cli.register(parser.add_subparsers())
    args = parser.parse_args(["leaderboard", *argv])
    return int(args.func(args, Settings(), table=lambda settings: table))


def test_leaderboard_prints_every_class_of_a_race_id_or_the_one_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    boards = {(7, 2): [result(7, 2, 11, 9.0), result(7, 2, 12, 8.0)], (7, 5): [result(7, 5, 51, 7.0)]}
    table = Boards(boards)
    queried = table.queried

    assert leaderboard(["--race", "7"], table) == 0
    out = capsys.readouterr().out
    assert "race 7 class 2 (final results)" in out and "race 7 class 5 (final results)" in out
    assert queried == [(7, 2, 1000), (7, 5, 1000)]

    assert leaderboard(["--race", "7", "--class", "5", "--json", "--limit", "10"], table) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["raceId"], r["classId"], r["rank"], r["racerId"]) for r in rows] == [(7, 5, 1, 51)]
    assert queried[-1] == (7, 5, 10)

    assert leaderboard(["--race", "7", "--json"], table) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["classId"], r["rank"], r["racerId"]) for r in rows] == [(2, 1, 11), (2, 2, 12), (5, 1, 51)]

    assert (
        leaderboard(["--race", "7", "--class", "3"], table) == 1
    )  # no such race: nothing merged in from other classes
    assert "race 7 class 3: no results" in capsys.readouterr().out
    assert leaderboard(["--race", "8"], table) == 1
    assert "no class has a race" in capsys.readouterr().out


# --- the race table's conditions and retries (the in-memory table runs the real retry loop) ---


def test_a_lost_live_put_is_merged_again_and_written_once() -> None:
    store = InMemoryRaceTable()
    state: dict[str, Any] = {}
    aggregator.merge_records(state, records(kinesis_event([telemetry(1, 1, cls=2), telemetry(1, 2, cls=2)])))
    store.lose_live_puts(2)  # two other writers get there first
    assert aggregator.flush(store, state, "w") == 1
    live = store.read_live(5, 2)
    assert live is not None and live.version == 1 and live.race.racers[1].seconds == 2
    store.lose_live_puts(aggregator.MAX_CONFLICT_RETRIES)
    more: dict[str, Any] = {}
    aggregator.merge_records(more, records(kinesis_event([telemetry(1, 3, cls=2)])))
    with pytest.raises(RaceTableError, match="still conflicting"):
        aggregator.flush(store, more, "w2")


def test_unprocessed_results_are_retried_with_backoff_then_given_up() -> None:
    (race,) = score_races([telemetry(r, 1, cls=4, event="final") for r in range(30)]).values()
    items = [result_item(5, score, T) for score in race.racers.values()]
    table = InMemoryRaceTable()
    table.leave_unprocessed(2)
    assert table.write_results(items) == 4  # 25 + 5 items; the first batch twice unprocessed
    assert table.sleeps == [0.05, 0.1]
    assert len(table.query_results(5, 4, 100)) == 30
    table.leave_unprocessed(8)
    with pytest.raises(RaceTableError, match="unprocessed"):
        table.write_results(items)


def test_a_best_is_replaced_only_by_a_higher_total() -> None:
    table = InMemoryRaceTable()
    (race,) = score_races([telemetry(1, 1, cls=2, cadence=80.0)]).values()
    score = race.racers[1]
    assert table.put_best(5, score, T)
    score.total_milli -= 1000
    assert not table.put_best(6, score, T)
    score.total_milli += 5000
    assert table.put_best(7, score, T)
    best = table.item(keys.racer_pk(1), keys.best_sk(2))
    assert best is not None and int(best["raceId"]) == 7


def live_change_event(*changes: tuple[RaceScores | None, RaceScores]) -> dict[str, Any]:
    """A DynamoDB Streams event of LIVE changes (sequence numbers 1, 2, ...) after a REMOVE."""
    doc = sample("dynamodb-streams.json")
    proto = doc["Records"][1]
    removed = copy.deepcopy(doc["Records"][2])
    removed["dynamodb"]["Keys"] = {"PK": {"S": keys.race_pk(5, 9)}, "SK": {"S": keys.LIVE_SK}}
    doc["Records"] = [removed]
    for n, (old, new) in enumerate(changes, start=1):
        record = copy.deepcopy(proto)
        record["dynamodb"]["Keys"] = {"PK": {"S": keys.race_pk(new.race_id, new.class_id)}, "SK": {"S": keys.LIVE_SK}}
        record["dynamodb"]["SequenceNumber"] = str(n)
        record["dynamodb"]["NewImage"] = live_image(new, n + 1)
        if old is None:
            record["eventName"] = "INSERT"
            record["dynamodb"].pop("OldImage", None)
        else:
            record["dynamodb"]["OldImage"] = live_image(old, n)
        doc["Records"].append(record)
    return doc


def test_a_failed_publish_is_the_only_failure_reported_and_ends_the_batch() -> None:
    races = [score_races([telemetry(r, 1, cls=c)])[RaceKey(5, c)] for r, c in ((1, 1), (2, 2), (3, 3))]
    event = live_change_event(*((None, race) for race in races))
    channel = RecordingPublisher()
    assert publisher.handle(event, publisher.Dependencies(channel, 10)).counts == {
        "Published": 3,
        "Dropped": 0,
        "PublishFailures": 0,
    }
    assert [race for race, _ in channel.sent] == [RaceKey(5, 1), RaceKey(5, 2), RaceKey(5, 3)]  # REMOVE skipped
    refusing = RecordingPublisher()
    handled = publisher.handle(event, publisher.Dependencies(FailSecond(refusing), 10))
    assert handled.response == {"batchItemFailures": [{"itemIdentifier": "2"}]}  # Lambda resumes from here
    assert [race for race, _ in refusing.sent] == [RaceKey(5, 1)]  # the third waits for the retry


class FailSecond:
    """A channel that refuses its second message."""

    def __init__(self, inner: RecordingPublisher) -> None:
        self.inner = inner
        self.calls = 0

    def publish(self, race: RaceKey, message: dict[str, Any]) -> bool:
        self.calls += 1
        if self.calls == 2:
            self.inner.fail_next()
        return self.inner.publish(race, message)


def test_final_results_of_a_stream_event_and_a_single_failed_record() -> None:
    done = score_races([telemetry(1, 1, cls=3, event="final"), telemetry(2, 1, cls=3, event="final")])[RaceKey(5, 3)]
    table = InMemoryRaceTable()
    handled = final_results.handle(live_change_event((None, done)), final_results.Dependencies(table))
    assert handled.response == {"batchItemFailures": []}
    assert handled.counts["ResultsWritten"] == 2 and handled.counts["RacesCompleted"] == 1
    assert [int(r["racerId"]) for r in table.query_results(5, 3, 10)] == [s.racer_id for s in done.standings()]
    table.leave_unprocessed(8)  # the only record fails: reported, not raised (the mapping retries it)
    handled = final_results.handle(live_change_event((None, done)), final_results.Dependencies(table))
    assert handled.response == {"batchItemFailures": [{"itemIdentifier": "1"}]}


class Context:
    """The attributes of Lambda's context that Powertools' logger reads."""

    function_name = "test-function"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:test-function"
    aws_request_id = "00000000-0000-4000-8000-000000000001"


def test_the_entry_point_answers_and_publishes_its_counts_as_embedded_metrics(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    handler = Observability("test-entry").entry(lambda event, context: Handled({"ok": event["n"]}, {"Things": 3}))
    assert handler({"n": 1}, Context()) == {"ok": 1}
    assert handler({"n": 2}, None) == {"ok": 2}  # the local Firehose passes no context
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert len(docs) == 2 and all(doc["Things"] == [3.0] for doc in docs)
    assert {d["Namespace"] for doc in docs for d in doc["_aws"]["CloudWatchMetrics"]} == {"Alleycat"}
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    assert handler({"n": 3}, None) == {"ok": 3}
    assert '"_aws"' not in capsys.readouterr().out
