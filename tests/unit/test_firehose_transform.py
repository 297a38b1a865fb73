"""The transform Lambda's contract with Firehose: one answer per record, same recordId, base64 data,
partition keys, newline-terminated JSON rows with the raw schema's columns."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from typing import Any

import pytest

from alleycat.domain.events import Telemetry, output_of
from alleycat.lake.schema import RAW_SCHEMA
from consumers.firehose_transform import handler
from infra.local.firehose.invocation import Arns, event_of
from infra.local.firehose.records import KafkaRecord, KinesisRecord


@pytest.fixture(autouse=True)
def no_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler's embedded metrics stay off stdout (Powertools honours this variable)."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


ARNS = Arns("arn:aws:kinesis:us-east-1:000000000000:stream/s", "arn:aws:firehose:x", "arn:aws:lambda:x", "us-east-1")


def telemetry(**overrides: object) -> Telemetry:
    fields: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "event": "update",
        "device_timestamp": 1_620_824_038_331,  # 2021-05-12T12:53:58Z
        "second": 3,
        "race_id": 5_402_746,
        "name": "Hayden",
        "racer_id": 7,
        "class_id": 1,
        "cadence": 80.0,
        "resistance": 78.0,
    }
    return Telemetry(**{**fields, **overrides})


def record(data: bytes, seq: str = "49000000000000000001") -> KinesisRecord:
    return KinesisRecord(data, "shardId-000000000002", seq, "5402746", 1_620_824_040_000)


def invoke(*payloads: bytes) -> tuple[dict, dict]:
    event = event_of({f"id-{i}": record(p, str(100 + i)) for i, p in enumerate(payloads)}, ARNS)
    return event, handler(event, None)


def test_valid_event_becomes_a_raw_row_with_partition_keys() -> None:
    ev = telemetry()
    _, response = invoke(ev.to_json())
    [answer] = response["records"]
    assert answer["recordId"] == "id-0"
    assert answer["result"] == "Ok"
    assert answer["metadata"] == {"partitionKeys": {"dt": "2021-05-12", "hour": "12"}}
    text = base64.b64decode(answer["data"], validate=True).decode()
    assert text.endswith("\n") and text.count("\n") == 1
    row = json.loads(text)
    assert list(row) == RAW_SCHEMA.names
    assert row["output"] == output_of(80.0, 78.0) == 164.45
    assert row["device_timestamp"] == ev.device_timestamp and row["racer_id"] == 7
    assert row["arrival_timestamp"] == 1_620_824_040_000
    assert row["shard_id"] == "shardId-000000000002" and row["sequence_number"] == "100"


def test_partition_is_utc_hour_of_the_event_time_not_arrival() -> None:
    # 23:59:59.999 UTC on 2024-02-29; arrival is a day later
    ev = telemetry(device_timestamp=1_709_251_199_999)
    _, response = invoke(ev.to_json())
    assert response["records"][0]["metadata"]["partitionKeys"] == {"dt": "2024-02-29", "hour": "23"}


def test_invalid_events_are_processing_failed_with_original_data_and_logged_reason(caplog) -> None:
    bad = [b"not json", b'{"event":"update"}', telemetry(class_id=9).to_json(), b'{"name":"\xff"}']
    with caplog.at_level(logging.WARNING, logger="alleycat.firehose_transform"):
        event, response = invoke(telemetry().to_json(), *bad)
    answers = response["records"]
    assert [a["recordId"] for a in answers] == [r["recordId"] for r in event["records"]]
    assert [a["result"] for a in answers] == ["Ok"] + ["ProcessingFailed"] * 4
    assert [base64.b64decode(a["data"]) for a in answers[1:]] == bad
    assert all("metadata" not in a for a in answers[1:])
    reasons = [(r.recordId, r.reason) for r in caplog.records if r.getMessage() == "invalid event"]
    assert reasons == [("id-1", "bad_json"), ("id-2", "missing_field"), ("id-3", "out_of_range"), ("id-4", "not_utf8")]


def test_every_record_answered_once_in_a_large_invocation() -> None:
    payloads = [telemetry(second=s).to_json() for s in range(1, 301)]
    event, response = invoke(*payloads)
    assert [a["recordId"] for a in response["records"]] == [r["recordId"] for r in event["records"]]
    assert {a["result"] for a in response["records"]} == {"Ok"}


MSK_ARNS = Arns(
    "arn:aws:kafka:us-east-1:000000000000:cluster/c/u-1", "arn:aws:firehose:x", "arn:aws:lambda:x", "us-east-1"
)


def test_an_msk_source_event_is_answered_with_kafka_record_values_and_the_partition_and_offset() -> None:
    """Firehose with MSK as its source: the event says ``sourceMSKArn``, each record carries
    ``kafkaRecordValue`` and ``mskRecordMetadata`` (partitionId, offset as strings), and the answer
    gives the data back as ``kafkaRecordValue``; the raw row keeps the partition and offset."""
    good, bad = telemetry(), b"not json"
    records = {"a": KafkaRecord(good.to_json(), "t", 1, 41, 1_620_824_040_000), "b": KafkaRecord(bad, "t", 0, 7, 0)}
    event = event_of(records, MSK_ARNS)
    assert event["sourceMSKArn"] == MSK_ARNS.source and "sourceKinesisStreamArn" not in event
    assert event["records"][0]["mskRecordMetadata"] == {
        "offset": "41",
        "partitionId": "1",
        "approximateArrivalTimestamp": 1_620_824_040_000,
    }
    ok, failed = handler(event, None)["records"]
    assert "data" not in ok and ok["result"] == "Ok"
    row = json.loads(base64.b64decode(ok["kafkaRecordValue"], validate=True))
    assert (row["uuid"], row["shard_id"], row["sequence_number"]) == (good.uuid, "1", "41")
    assert row["arrival_timestamp"] == 1_620_824_040_000
    assert failed["result"] == "ProcessingFailed" and base64.b64decode(failed["kafkaRecordValue"]) == bad
