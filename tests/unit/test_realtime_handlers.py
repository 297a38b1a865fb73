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
from alleycat.domain.events import Telemetry
from alleycat.domain.scoring import RaceScores, score_races
from consumers import aggregator, dynamo, publisher
from consumers.deadletter import dead_letter
from consumers.publish import HttpPublisher
from infra.local.processes import free_port

EVENTS = Path(__file__).parent / "events"
T = 1_700_000_000_000


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def telemetry(racer: int, second: int, cadence: float = 80.0, ts: int | None = None, event: str = "update",
              race: int = 5, uid: str | None = None) -> Telemetry:  # fmt: skip
    return Telemetry(uid or str(uuid.uuid4()), event, ts or T + second * 1000, second, race, f"r{racer}", racer,
                     1 + racer % 6, cadence, 50)  # fmt: skip


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
    racer = state["races"]["5"]["r"]["1"]
    assert racer["f"] is True
    assert racer["p"]["3"] == [b.output_milli, b.device_timestamp, b.uuid]
    assert racer["p"]["4"][0] == c.output_milli
    # the window, applied to an empty race, equals the reference computation
    live = dynamo.LiveRace(RaceScores(5, 2), 0, None, 0)
    assert aggregator.apply_window(live, state["races"]["5"])
    expected = score_races([a, b, c, c])[5].racers[1]
    assert live.race.racers[1].to_compact() == expected.to_compact()
    assert not aggregator.apply_window(live, state["races"]["5"])  # replaying the window: no change


def test_equal_timestamps_are_decided_by_the_larger_uuid(home: Path) -> None:
    low = telemetry(2, 7, cadence=40.0, ts=T, uid="00000000-0000-4000-8000-000000000000")
    high = telemetry(2, 7, cadence=50.0, ts=T, uid="ffffffff-0000-4000-8000-000000000000")
    state: dict[str, Any] = {}
    for order in ([low, high], [high, low]):
        state = {}
        aggregator.merge_records(state, kinesis_event(order)["Records"])
        assert state["races"]["5"]["r"]["2"]["p"]["7"][2] == high.uuid


def live_image(race: RaceScores, version: int) -> dict[str, Any]:
    item = dynamo.live_item(dynamo.LiveRace(race, version, "2020-12-09T07:06:00Z", T))
    ser = TypeSerializer()
    return {k: ser.serialize(v) for k, v in item.items()}


def test_publisher_sends_standings_and_the_changed_racers(monkeypatch: pytest.MonkeyPatch) -> None:
    before = score_races([telemetry(1, 1), telemetry(2, 1), telemetry(3, 1)])[5]
    after = score_races([telemetry(1, 1), telemetry(2, 1), telemetry(3, 1), telemetry(2, 2, cadence=90.0)])[5]
    after.racers[1] = before.racers[1]
    after.racers[3] = before.racers[3]
    doc = sample("dynamodb-streams.json")
    modify = doc["Records"][1]
    modify["dynamodb"]["Keys"] = {"PK": {"S": keys.race_pk(5)}, "SK": {"S": keys.LIVE_SK}}
    modify["dynamodb"]["OldImage"] = live_image(before, 1)
    modify["dynamodb"]["NewImage"] = live_image(after, 2)
    sent: list[tuple[int, dict]] = []

    class Fake:
        def publish(self, race_id: int, message: dict) -> bool:
            sent.append((race_id, message))
            return True

    monkeypatch.setattr(publisher, "live_publisher", Fake)
    assert publisher.handler(doc, None) == {"batchItemFailures": []}  # the sample's other items are skipped
    ((race_id, message),) = sent
    assert race_id == 5 and message["type"] == "standings" and message["changed"] == [2]
    assert [row["racerId"] for row in message["standings"]] == [s.racer_id for s in after.standings()]
    assert message["standings"][0]["rank"] == 1
    assert message["standings"][0]["totalOutput"] == after.standings()[0].total_output
    assert message["windowEnd"] == "2020-12-09T07:06:00Z"


def test_local_publish_drops_when_the_api_is_down() -> None:
    down = HttpPublisher(f"http://127.0.0.1:{free_port()}/internal/live", timeout_s=0.5)
    assert down.publish(5, {"type": "standings"}) is False


def test_changed_racers_compares_compact_scores() -> None:
    old = score_races([telemetry(1, 1), telemetry(2, 1)])[5]
    new = score_races([telemetry(1, 1), telemetry(2, 1), telemetry(3, 1)])[5]
    new.racers[1] = old.racers[1]
    new.racers[2] = copy.deepcopy(old.racers[2])
    new.racers[2].finished = True
    assert sorted(dynamo.changed_racers(old, new)) == [2, 3]
    assert sorted(dynamo.changed_racers(None, new)) == [1, 2, 3]
