"""The local Firehose without a server: response validation with fake transforms, invocation
splitting, record format conversion to Parquet (RAW_SCHEMA), object names and atomic writes."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alleycat.domain.events import Telemetry
from alleycat.lake.schema import RAW_SCHEMA
from alleycat.support.files import atomic_write
from consumers.firehose_transform import handler as real_transform
from infra.local.firehose.converter import convert
from infra.local.firehose.invocation import Arns, invocations, invoke
from infra.local.firehose.objects import LocalObjects, object_name, parquet_body
from infra.local.firehose.records import KafkaRecord, KinesisRecord, SourceRecord, Transformed

ARNS = Arns(
    "arn:aws:kinesis:us-east-1:000000000000:stream/s",
    "arn:aws:firehose:us-east-1:000000000000:deliverystream/d",
    "arn:aws:lambda:us-east-1:000000000000:function:FirehoseTransform",
    "us-east-1",
)


def telemetry(second: int) -> Telemetry:
    return Telemetry(str(uuid.uuid4()), "update", 1_620_824_038_331, second, 5_402_746, "Hayden", 7, 1, 80.0, 78.0)


def seq(record: SourceRecord) -> str:
    assert isinstance(record, KinesisRecord)
    return record.sequence_number


def records(n: int) -> list[KinesisRecord]:
    return [
        KinesisRecord(telemetry(second=i + 1).to_json(), "shardId-000000000000", str(1000 + i), "k", 1_700_000_000_000)
        for i in range(n)
    ]


def answering(change):
    """A fake transform: the real one's answers, then ``change(answers)``."""

    def handler(event, context):
        answers = real_transform(event, context)["records"]
        return {"records": change(answers)}

    return handler


def test_event_has_the_firehose_shape() -> None:
    seen = {}

    def handler(event, context):
        seen.update(event)
        return real_transform(event, context)

    sent = records(2)
    invoke(handler, sent, ARNS)
    assert set(seen) == {"invocationId", "sourceKinesisStreamArn", "deliveryStreamArn", "region", "records"}
    r = seen["records"][0]
    assert set(r) == {"recordId", "approximateArrivalTimestamp", "data", "kinesisRecordMetadata"}
    assert set(r["kinesisRecordMetadata"]) == {
        "sequenceNumber",
        "subsequenceNumber",
        "partitionKey",
        "shardId",
        "approximateArrivalTimestamp",
    }
    assert [base64.b64decode(x["data"]) for x in seen["records"]] == [x.data for x in sent]
    assert r["kinesisRecordMetadata"]["sequenceNumber"] == "1000"
    assert r["approximateArrivalTimestamp"] == 1_700_000_000_000


def test_all_ok() -> None:
    outcome = invoke(real_transform, records(5), ARNS)
    assert len(outcome.transformed) == 5 and not outcome.failed and outcome.dropped == 0


def test_missing_and_unknown_record_ids_fail_those_records() -> None:
    def change(answers):
        answers[1]["recordId"] = "not-mine"  # unknown id: record 1 is unanswered
        return answers[:3] + answers[4:]  # record 3 is missing

    outcome = invoke(answering(change), records(5), ARNS)
    assert len(outcome.transformed) == 3
    failed = {seq(f.record): f for f in outcome.failed}
    assert set(failed) == {"1001", "1003"}
    assert {f.error_code for f in failed.values()} == {"Lambda.MissingRecordId"}


def test_duplicated_record_id_fails_that_record() -> None:
    outcome = invoke(answering(lambda a: [*a, a[0]]), records(3), ARNS)
    assert [f.error_code for f in outcome.failed] == ["Lambda.DuplicatedRecordId"]
    assert seq(outcome.failed[0].record) == "1000"
    assert len(outcome.transformed) == 2


def test_dropped_and_processing_failed_are_honoured() -> None:
    def change(answers):
        answers[0]["result"] = "Dropped"
        answers[1]["result"] = "ProcessingFailed"
        return answers

    outcome = invoke(answering(change), records(3), ARNS)
    assert outcome.dropped == 1
    assert [(seq(f.record), f.error_code) for f in outcome.failed] == [("1001", "Lambda.ProcessingFailed")]
    assert len(outcome.transformed) == 1


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda a: a.update(result="Maybe"), "Lambda.JsonProcessingException"),
        (lambda a: a.update(data="%%% not base64"), "Lambda.JsonProcessingException"),
        (lambda a: a.pop("data"), "Lambda.JsonProcessingException"),
        (lambda a: a.pop("metadata"), "DynamicPartitioning.InvalidPartitionKeys"),
        (lambda a: a["metadata"]["partitionKeys"].update(dt="../../etc"), "DynamicPartitioning.InvalidPartitionKeys"),
    ],
)
def test_bad_results_fail_the_record(mutate, code) -> None:
    def change(answers):
        mutate(answers[0])
        return answers

    outcome = invoke(answering(change), records(2), ARNS)
    assert [(seq(f.record), f.error_code) for f in outcome.failed] == [("1000", code)]
    assert len(outcome.transformed) == 1


def test_not_a_response_fails_every_record() -> None:
    outcome = invoke(lambda e, c: {"recordz": []}, records(2), ARNS)
    assert [f.error_code for f in outcome.failed] == ["Lambda.JsonProcessingException"] * 2


def test_handler_that_raises_is_retried_three_times_then_function_error() -> None:
    calls = []

    def broken(event, context):
        calls.append(event["invocationId"])
        raise RuntimeError("boom")

    sent = records(2)
    outcome = invoke(broken, sent, ARNS, retries=3, backoff_s=0)
    assert len(calls) == 4 and len(set(calls)) == 1  # the same invocation, retried
    assert [(f.error_code, f.attempts) for f in outcome.failed] == [("Lambda.FunctionError", 4)] * 2
    doc = outcome.failed[0].error_record(ARNS.function)
    assert set(doc) == {
        "attemptsMade",
        "arrivalTimestamp",
        "errorCode",
        "errorMessage",
        "attemptEndingTimestamp",
        "rawData",
        "lambdaArn",
    }
    assert base64.b64decode(doc["rawData"]) == sent[0].data
    assert doc["arrivalTimestamp"] == 1_700_000_000_000 and doc["attemptEndingTimestamp"] >= doc["arrivalTimestamp"]


def test_handler_that_recovers_on_a_retry() -> None:
    calls = []

    def flaky(event, context):
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("slow")
        return real_transform(event, context)

    outcome = invoke(flaky, records(2), ARNS, retries=3, backoff_s=0)
    assert len(calls) == 3 and len(outcome.transformed) == 2 and not outcome.failed


def test_invocations_split_at_the_size_limit_in_order() -> None:
    recs = [KinesisRecord(b"x" * 100, "s", str(i), "k", 0) for i in range(100)]
    batches = invocations(recs, max_bytes=3_050)
    assert [len(b) for b in batches] == [30, 30, 30, 10]
    assert [r for b in batches for r in b] == recs
    big = KinesisRecord(b"x" * 500, "s", "1", "k", 0)
    assert [len(b) for b in invocations([big, big], max_bytes=100)] == [1, 1]


def test_conversion_to_parquet_keeps_raw_schema_types(tmp_path: Path) -> None:
    outcome = invoke(real_transform, records(3), ARNS)
    rows, failed = convert(outcome.transformed)
    assert not failed and list(rows) == [("2021-05-12", "12")]
    path = tmp_path / "x.parquet"
    LocalObjects().put(path, parquet_body(rows[("2021-05-12", "12")]))
    table = pq.read_table(path)
    assert table.schema.equals(RAW_SCHEMA)
    assert table.schema.field("racer_id").type == pa.int32() and table.schema.field("output").type == pa.float64()
    assert sorted(table.column("second").to_pylist()) == [1, 2, 3]
    assert table.column("output").to_pylist() == [164.45] * 3


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.pop("output"), "missing"),
        (lambda r: r.update(extra=1), "unknown"),
        (lambda r: r.update(second=1.5), "second"),
        (lambda r: r.update(racer_id=2**40), "racer_id"),
        (lambda r: r.update(name=None), "name"),
        (lambda r: r.update(class_id=True), "class_id"),
    ],
)
def test_rows_that_do_not_fit_the_schema_fail_conversion(change, reason) -> None:
    good = invoke(real_transform, records(1), ARNS).transformed[0]
    row = json.loads(good.data)
    change(row)
    bad = Transformed(good.record, json.dumps(row).encode(), good.partition)
    rows, failed = convert([bad])
    assert not rows
    assert failed[0].error_code == "DataFormatConversion.InvalidRecord" and reason in failed[0].error_message


def test_object_names_follow_firehose() -> None:
    when = datetime(2024, 3, 9, 7, 5, 3, tzinfo=UTC)
    name = object_name("alleycat-firehose", when, ".parquet")
    assert re.fullmatch(r"alleycat-firehose-1-2024-03-09-07-05-03-[0-9a-f-]{36}\.parquet", name)
    assert object_name("a", when) != object_name("a", when)


def test_atomic_write_never_shows_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "dt=2024-01-01" / "obj.parquet"
    started, release = threading.Event(), threading.Event()

    def slow(f) -> None:
        f.write(b"half")
        started.set()
        release.wait(5)
        f.write(b" and the rest")

    writer = threading.Thread(target=atomic_write, args=(target, slow))
    writer.start()
    started.wait(5)
    visible = [p.name for p in target.parent.iterdir() if not p.name.startswith((".", "_"))]
    assert visible == [] and not target.exists()
    release.set()
    writer.join()
    assert target.read_bytes() == b"half and the rest"
    assert os.listdir(target.parent) == ["obj.parquet"]


def test_atomic_write_failure_leaves_nothing(tmp_path: Path) -> None:
    def failing(f) -> None:
        f.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(tmp_path / "obj", failing)
    assert os.listdir(tmp_path) == []


def test_an_msk_source_is_judged_by_kafka_record_value() -> None:
    """With an MSK cluster as the source the answer's data is ``kafkaRecordValue``: the real
    transform's answers are accepted, and an answer with only ``data`` fails as a bad response."""
    msk = Arns("arn:aws:kafka:us-east-1:000000000000:cluster/c/u-1", ARNS.delivery_stream, ARNS.function, ARNS.region)
    kafka = [KafkaRecord(telemetry(second=i + 1).to_json(), "t", i % 2, i, 1_700_000_000_000) for i in range(4)]
    outcome = invoke(real_transform, kafka, msk)
    assert len(outcome.transformed) == 4 and not outcome.failed

    def as_kinesis(answers):
        return [{("data" if k == "kafkaRecordValue" else k): v for k, v in a.items()} for a in answers]

    wrong = invoke(answering(as_kinesis), kafka, msk)
    assert {f.error_code for f in wrong.failed} == {"Lambda.JsonProcessingException"} and len(wrong.failed) == 4
