"""The event shapes Lambda builds for stream sources, and a Lambda-like context object.

A ``StreamRecord`` is what a source read (one Kinesis record or DynamoDB Streams record) plus
the metadata the runtime needs (sequence number, arrival time, partition key); ``event`` is the
exact JSON element Lambda puts in ``Records``.
"""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "000000000000"


# Not frozen: a frozen dataclass sets each field through object.__setattr__, a fifth of the cost
# of making one, and one is made for every record read. Nothing changes a record once made.
@dataclass(slots=True)
class StreamRecord:
    sequence_number: str
    arrival_s: float  # approximateArrivalTimestamp (Kinesis) / ApproximateCreationDateTime (DynamoDB)
    partition_key: str
    event: dict[str, Any]
    size_bytes: int

    @property
    def seq(self) -> int:
        return int(self.sequence_number)


def epoch_s(timestamp: Any) -> float:
    """A record's timestamp in epoch seconds: the stream readers leave the service's number
    (``aws.stream_reader``); a datetime where a client (or a fake) made one."""
    return timestamp.timestamp() if hasattr(timestamp, "timestamp") else float(timestamp)


def kinesis_data(data: str | bytes) -> bytes:
    """A Kinesis record's ``Data`` as bytes: the stream reader leaves the base64 text sent
    (``aws.stream_reader``), a client that decoded it gives bytes."""
    return binascii.a2b_base64(data) if isinstance(data, str) else data


def kinesis_records(
    raws: Sequence[dict[str, Any]], *, shard_id: str, stream_arn: str, region: str, function_name: str
) -> list[StreamRecord]:
    """Kinesis GetRecords records (boto3 shape) as Lambda ``Records`` elements. ``Data`` is the
    base64 text the stream reader leaves (``aws.stream_reader``), or bytes where a client decoded
    it. One call per page, with what every record of the shard shares made once: this runs for
    every record a mapping reads (a sixth of the consumer's time in a backlog drain)."""
    identity = f"arn:aws:iam::{ACCOUNT}:role/{function_name}-role"
    event_id = shard_id + ":"
    out = []
    for raw in raws:
        sequence, key, data = raw["SequenceNumber"], raw["PartitionKey"], raw["Data"]
        arrival_s = epoch_s(raw["ApproximateArrivalTimestamp"])
        if isinstance(data, bytes):
            size, data = len(data), base64.b64encode(data).decode()
        else:
            size = len(data) * 3 // 4 - data.count("=", -2)
        event = {
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": key,
                "sequenceNumber": sequence,
                "data": data,
                "approximateArrivalTimestamp": round(arrival_s, 3),
            },
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": event_id + sequence,
            "eventName": "aws:kinesis:record",
            "invokeIdentityArn": identity,
            "awsRegion": region,
            "eventSourceARN": stream_arn,
        }
        out.append(StreamRecord(sequence, arrival_s, key, event, size))
    return out


def dynamodb_record(*, stream_arn: str, raw: dict[str, Any]) -> StreamRecord:
    """A DynamoDB Streams GetRecords record (boto3 client shape) as a Lambda ``Records`` element."""
    ddb = dict(raw["dynamodb"])
    created_s = epoch_s(ddb.get("ApproximateCreationDateTime", time.time()))
    ddb["ApproximateCreationDateTime"] = int(created_s)
    for part in ("Keys", "NewImage", "OldImage"):
        if part in ddb:
            ddb[part] = {name: _as_in_event(value) for name, value in ddb[part].items()}
    event = {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": raw.get("awsRegion", ""),
        "dynamodb": ddb,
        "eventSourceARN": stream_arn,
    }
    keys = ddb.get("Keys", {})
    partition_key = str(sorted((k, str(v)) for k, v in keys.items()))
    return StreamRecord(ddb["SequenceNumber"], created_s, partition_key, event, int(ddb.get("SizeBytes", 0)))


def _as_in_event(value: dict[str, Any]) -> dict[str, Any]:
    """An attribute value as a Lambda event carries it: binary as base64 text (botocore decoded it
    to bytes), inside maps and lists too."""
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": {name: _as_in_event(v) for name, v in inner.items()}}
    if kind == "L":
        return {"L": [_as_in_event(v) for v in inner]}
    return value


def function_arn(region: str, function_name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name}"


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers use."""

    function_name: str
    timeout_s: int
    memory_limit_in_mb: int
    region: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.invoked_function_arn = function_arn(self.region, self.function_name)
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = time.strftime("%Y/%m/%d/[$LATEST]") + self.aws_request_id.replace("-", "")

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


KAFKA_EVENT_SOURCE = "SelfManagedKafka"  # Amazon MSK's mapping says "aws:kafka" and adds eventSourceArn
TIMESTAMP_TYPES = {0: "CREATE_TIME", 1: "LOG_APPEND_TIME"}


def kafka_record_id(topic: str, partition: int, offset: int) -> str:
    """A Kafka record's place, ``topic-partition@offset`` (the local runtime's sequence number)."""
    return f"{topic}-{partition}@{offset}"


def kafka_record(
    *, topic: str, partition: int, offset: int, timestamp_ms: int, timestamp_type: int, key: bytes | None,
    value: bytes | None, headers: list[tuple[str, bytes]],
) -> StreamRecord:  # fmt: skip
    """A consumed Kafka record as an element of a Kafka event's ``records["topic-partition"]``:
    base64 key and value (absent key: no key; null value: a tombstone), headers as lists of byte
    values, the timestamp in epoch milliseconds and its type."""
    event: dict[str, Any] = {
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "timestamp": timestamp_ms,
        "timestampType": TIMESTAMP_TYPES.get(timestamp_type, "NO_TIMESTAMP_TYPE"),
        "value": None if value is None else base64.b64encode(value).decode(),
        "headers": [{name: list(data or b"")} for name, data in headers],
    }
    if key is not None:
        event["key"] = base64.b64encode(key).decode()
    return StreamRecord(
        kafka_record_id(topic, partition, offset),
        timestamp_ms / 1000,
        (key or b"").decode(errors="replace"),
        event,
        len(value or b"") + len(key or b""),
    )


def kafka_event(records: list[StreamRecord], bootstrap_servers: str) -> dict[str, Any]:
    """Lambda's event of a self-managed Kafka mapping: the batch's records grouped by
    ``"topic-partition"``, each group in offset order."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        grouped.setdefault(f"{r.event['topic']}-{r.event['partition']}", []).append(r.event)
    return {"eventSource": KAFKA_EVENT_SOURCE, "bootstrapServers": bootstrap_servers, "records": grouped}
