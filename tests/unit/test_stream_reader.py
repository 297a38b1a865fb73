"""The stream readers' Kinesis parser gives what botocore's own gives for a GetRecords answer, but
each record's data as the base64 text sent, and leaves every other answer to botocore (no server:
the answers are parsed as the client would)."""

from __future__ import annotations

import base64
import json
from typing import Any

import botocore.session
from botocore.parsers import JSONParser

from alleycat.adapters.aws import KinesisRecordsParser, _epoch_seconds

KINESIS = botocore.session.get_session().get_service_model("kinesis")


def answer(doc: dict[str, Any]) -> dict[str, Any]:
    return {"body": json.dumps(doc).encode(), "headers": {"x-amzn-RequestId": "r-1"}, "status_code": 200}


def both(operation: str, doc: dict[str, Any]) -> tuple[Any, Any]:
    shape = KINESIS.operation_model(operation).output_shape
    assert shape is not None
    ours = KinesisRecordsParser(timestamp_parser=_epoch_seconds).parse(answer(doc), shape)
    botocores = JSONParser(timestamp_parser=_epoch_seconds).parse(answer(doc), shape)
    return ours, botocores


def test_a_get_records_answer_is_what_botocore_gives_with_the_data_as_sent() -> None:
    records = [
        {"SequenceNumber": "4959033827149025660855969253836157109592157598913658889" + str(i),
         "ApproximateArrivalTimestamp": arrival, "Data": base64.b64encode(data).decode(), "PartitionKey": f"5-{i}",
         **extra}
        for i, (arrival, data, extra) in enumerate([
            (1_700_000_000.123, b'{"uuid": "a"}', {}),
            (1_700_000_001, b"\x00\xff binary", {"EncryptionType": "KMS"}),  # a whole-second arrival
            (1_700_000_002.5, b"", {}),
        ])
    ]  # fmt: skip
    doc = {
        "Records": records,
        "NextShardIterator": "AAAA-next",
        "MillisBehindLatest": 1200,
        "ChildShards": [
            {"ShardId": "shardId-000000000002", "ParentShards": ["shardId-000000000000"],
             "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "170141183460469231731687303715884105727"}}
        ],
    }  # fmt: skip
    ours, botocores = both("GetRecords", doc)
    assert [r["Data"] for r in ours["Records"]] == [r["Data"] for r in records]
    decoded = {**ours, "Records": [{**r, "Data": base64.b64decode(r["Data"])} for r in ours["Records"]]}
    assert decoded == botocores
    assert botocores["Records"][1]["Data"] == b"\x00\xff binary"
    assert all(isinstance(r["ApproximateArrivalTimestamp"], float) for r in ours["Records"])
    assert ours["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_an_empty_answer_and_a_closed_shards_last_are_what_botocore_gives() -> None:
    docs: list[dict[str, Any]] = [
        {"Records": [], "NextShardIterator": "AAAA", "MillisBehindLatest": 0},
        {"Records": []},
    ]
    for doc in docs:
        ours, botocores = both("GetRecords", doc)
        assert ours == botocores


def test_other_operations_are_parsed_by_botocore() -> None:
    shard = {"ShardId": "shardId-000000000000", "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "9"},
             "SequenceNumberRange": {"StartingSequenceNumber": "1"}}  # fmt: skip
    doc = {"Shards": [shard], "Unmodelled": "dropped"}
    ours, botocores = both("ListShards", doc)
    assert ours == botocores and "Unmodelled" not in ours
