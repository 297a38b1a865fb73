"""Read a stream back: every record of every shard, with GetRecords (the demo and the tests).

To read only what arrives from some moment on, take ``latest_iterators`` first and pass them to
``read_stream`` (within 5 minutes, when shard iterators expire). AT_TIMESTAMP would be the natural
choice, but kinesalite never answers it on a shard with no record after the timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alleycat.adapters.kinesis import shard_ids


@dataclass(frozen=True, slots=True)
class StreamRecord:
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: datetime


def latest_iterators(client: Any, stream: str) -> dict[str, str]:
    """An iterator per shard at its tip: reading them later returns only records put after now."""
    return {
        shard_id: client.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="LATEST")[
            "ShardIterator"
        ]
        for shard_id in shard_ids(client, stream)
    }


def read_stream(client: Any, stream: str, start: dict[str, str] | None = None) -> dict[str, list[StreamRecord]]:
    """All records per shard, in shard order: from the start of retention, or from the iterators in
    ``start`` (see ``latest_iterators``; a shard without one is read from the start)."""
    start = start or {}
    result = {}
    for shard_id in shard_ids(client, stream):
        iterator = (
            start.get(shard_id)
            or client.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
                "ShardIterator"
            ]
        )
        result[shard_id] = _read(client, shard_id, iterator)
    return result


def _read(client: Any, shard_id: str, iterator: str | None) -> list[StreamRecord]:
    records: list[StreamRecord] = []
    while iterator:
        page = client.get_records(ShardIterator=iterator, Limit=10_000)
        records += [
            StreamRecord(shard_id, r["SequenceNumber"], r["PartitionKey"], r["Data"], r["ApproximateArrivalTimestamp"])
            for r in page["Records"]
        ]
        if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
            break  # caught up with an open shard
        iterator = page.get("NextShardIterator")  # None once a closed shard is read to its end
    return records
