"""A Kinesis record read by the stream reader (data as the base64 text sent) and one read by a
client that decoded it (bytes) become the same Lambda ``Records`` element, sized by its bytes, and
the same bytes for the Firehose stand-in."""

from __future__ import annotations

import base64

import pytest

from infra.local.esm.shapes import kinesis_data, kinesis_records

SHARD = {
    "shard_id": "shardId-000000000001",
    "stream_arn": "arn:aws:kinesis:us-east-1:000000000000:stream/s",
    "region": "us-east-1",
    "function_name": "Aggregator",
}


def raw(data: bytes | str, n: int = 1) -> dict[str, object]:
    return {"SequenceNumber": f"4959{n:052d}", "PartitionKey": f"race-{n}", "Data": data,
            "ApproximateArrivalTimestamp": 1_700_000_000.1234}  # fmt: skip


@pytest.mark.parametrize("data", [b"", b"a", b"ab", b"abc", b'{"raceId": 1}', bytes(range(256))])
def test_base64_text_and_bytes_make_the_same_record(data: bytes) -> None:
    (as_text,) = kinesis_records([raw(base64.b64encode(data).decode())], **SHARD)
    (as_bytes,) = kinesis_records([raw(data)], **SHARD)
    assert as_text == as_bytes
    assert as_text.size_bytes == len(data)
    assert base64.b64decode(as_text.event["kinesis"]["data"]) == data
    assert kinesis_data(base64.b64encode(data).decode()) == kinesis_data(data) == data


def test_a_record_is_lambdas_kinesis_element() -> None:
    first, second = kinesis_records([raw(b"x", 1), raw(b"y", 2)], **SHARD)
    sequence = raw(b"", 1)["SequenceNumber"]
    assert first.event == {
        "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "race-1", "sequenceNumber": sequence,
                    "data": "eA==", "approximateArrivalTimestamp": 1_700_000_000.123},
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000001:{sequence}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::000000000000:role/Aggregator-role",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s",
    }  # fmt: skip
    assert (second.partition_key, second.arrival_s) == ("race-2", 1_700_000_000.1234)
