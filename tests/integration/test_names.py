"""Racers' names end to end, on the local stack's DynamoDB: telemetry with markup, control
characters, bidi overrides, a decomposed accent and 1,000 characters goes through the Aggregator
(validation: stored normalised, or dead-lettered with its reason), FinalResults and the API (the
answer escapes markup), and out through the text and CSV outputs (escaped)."""

from __future__ import annotations

import base64
import copy
import json
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamEvent

from alleycat.adapters import aws
from alleycat.adapters.dead_letter import LocalDeadLetter
from alleycat.adapters.race_items import race_from_item
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain import keys
from alleycat.settings import Settings
from alleycat.sql_engine.output import Result, render
from alleycat.support import escape
from consumers import aggregator, final_results
from consumers.live_changes import LiveChange

pytestmark = pytest.mark.stack

RACE, CLASS = 5_100_001, 2
T = RACE * 300_000
SAMPLE = Path(__file__).resolve().parents[1] / "unit" / "events" / "kinesis-tumbling-window.json"
MARKUP = "<script>alert(1)</script>"
DECOMPOSED = "Zoe\u0301 Le\u0301vy"  # e + combining acute: NFC composes it to é
REFUSED = {
    "tab\there": "bad_name",
    "bell\x07": "bad_name",
    "esc\x1b[31mred": "bad_name",
    "\u202eevil\u202c": "bad_name",  # right-to-left override
    "iso\u2067late\u2069": "bad_name",
    "x" * 1000: "out_of_range",
}


def _doc(racer_id: int, name: str) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid4()),
        "event": "final",
        "deviceTimestamp": T + 1000,
        "second": 1,
        "raceId": RACE,
        "name": name,
        "racerId": racer_id,
        "classId": CLASS,
        "cadence": 90.0,
        "resistance": 50,
    }


def _event(docs: list[dict[str, Any]]) -> dict[str, Any]:
    event = json.loads(SAMPLE.read_text())
    proto = event["Records"][0]
    event["Records"] = []
    for i, doc in enumerate(docs):
        record = copy.deepcopy(proto)
        record["kinesis"]["data"] = base64.b64encode(json.dumps(doc).encode()).decode()
        record["kinesis"]["sequenceNumber"] = str(49590338271490256608559692538361571095921575989136588898 + i)
        event["Records"].append(record)
    event["state"] = {}
    event["isFinalInvokeForWindow"] = True
    return event


def test_names_are_stored_normalised_or_dead_lettered_and_returned_escaped(stack: Settings, tmp_path: Path) -> None:
    table = DynamoRaceTable.from_settings(stack)
    accepted = {1: MARKUP, 2: DECOMPOSED, 3: "Ünïcødé ✓ 🚲"}
    refused = dict(enumerate(REFUSED, start=10))
    docs = [_doc(r, n) for r, n in {**accepted, **refused}.items()]
    dead = LocalDeadLetter(tmp_path / "dead-letter")
    answer = aggregator.handle(KinesisStreamEvent(_event(docs)), aggregator.Dependencies(table, dead)).response
    assert answer["batchItemFailures"] == []

    # refused: each with its reason in the dead-letter place; the rest of the batch went on
    lines = [
        json.loads(line)
        for path in (tmp_path / "dead-letter").rglob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert sorted(d["reason"] for d in lines) == sorted(REFUSED.values())

    # stored normalised (NFC), markup as it was sent
    live = table.read_live(RACE, CLASS)
    assert live is not None
    stored = {racer_id: s.name for racer_id, s in live.race.racers.items()}
    assert stored == {r: unicodedata.normalize("NFC", n) for r, n in accepted.items()}
    assert stored[2] == "Zoé Lévy" and len(stored[2]) == 8

    item = table.item(keys.race_pk(RACE, CLASS), keys.LIVE_SK)
    assert item is not None
    final_results.process_change(table, LiveChange("1", None, race_from_item(item)))

    # returned escaped: the API's JSON carries no markup, and parses back to the stored name
    from fastapi.testclient import TestClient

    from consumers.api.app import create_app

    app = create_app(stack, dynamodb=aws.client("dynamodb"), cursor_key=b"k" * 32, live_push=False)
    with TestClient(app) as api:
        answer = api.get(f"/classes/{CLASS}/races/{RACE}/leaderboard")
        assert answer.status_code == 200
        assert b"<script>" not in answer.content and b"\\u003cscript\\u003e" in answer.content
        assert {e["racerId"]: e["name"] for e in answer.json()["entries"]} == stored
        history = api.get("/racers/1/races")
        assert b"<" not in history.content and history.json()["races"][0]["name"] == MARKUP
        echoed = api.get("/nope<b>")
        assert echoed.status_code == 404 and b"<b>" not in echoed.content

    # and on the text and CSV outputs: control characters visible, no formula
    hostile = Result(["name"], [('=HYPERLINK("http://x")',), ("\x1b[2Jgone",), ("\u202eevil",)])
    csv_rows = render(hostile, "csv").splitlines()[1:]
    assert csv_rows[0].startswith("\"'=") and "\x1b" not in csv_rows[1] and "\u202e" not in csv_rows[2]
    table_text = render(hostile, "table")
    assert "\x1b" not in table_text and "\u202e" not in table_text and "\\u001b[2Jgone" in table_text
    assert escape.terminal("tab\there") == "tab\\u0009here"
