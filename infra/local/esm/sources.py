"""Reading the two stream sources through boto3: Kinesis Data Streams and DynamoDB Streams.

``KinesisSource`` is also the local Firehose's reader of its source stream (``get_records`` gives
the records as GetRecords returns them); ``ready_shards`` is the order both read shards in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from alleycat.adapters import aws, kinesis
from alleycat.resources import MappingDef
from alleycat.settings import Settings
from infra.local.esm.shapes import StreamRecord, dynamodb_record, kinesis_records


@dataclass(frozen=True)
class Shard:
    shard_id: str
    parent_ids: tuple[str, ...]


def ready_shards(shards: Iterable[Shard], finished: Callable[[str], bool]) -> list[Shard]:
    """The shards to read now, parents before children: not ``finished``, and every parent that is
    still listed finished (a parent trimmed away is no longer waited for)."""
    shards = list(shards)
    listed = {s.shard_id for s in shards}
    return [s for s in shards if not finished(s.shard_id) and all(p not in listed or finished(p) for p in s.parent_ids)]


@dataclass(frozen=True)
class Read:
    records: list[StreamRecord]
    next_iterator: str | None  # None: the shard is closed and fully read
    behind_ms: int  # 0 when at the tip


@dataclass(frozen=True)
class Page:
    """One GetRecords answer of a Kinesis shard, its records as boto3 returns them."""

    records: list[dict[str, Any]]
    next_iterator: str | None  # None: the shard is closed and fully read
    behind_ms: int  # 0 when at the tip


class Source(Protocol):
    kind: str
    arn: str
    max_records: int

    def shards(self) -> list[Shard]: ...

    def iterator(self, shard_id: str, position: str, after: str | None, timestamp: float | None) -> str: ...

    def read(self, shard_id: str, iterator: str, limit: int) -> Read: ...

    def is_expired(self, exc: Exception) -> bool: ...

    def is_throttled(self, exc: Exception) -> bool: ...


class KinesisSource:
    kind = "kinesis"
    max_records = 10_000

    def __init__(self, settings: Settings, function_name: str) -> None:
        self.client = aws.stream_reader("kinesis", settings.region)
        self.stream = settings.stream
        self.region = settings.region
        self.function_name = function_name
        self.arn = self.client.describe_stream_summary(StreamName=self.stream)["StreamDescriptionSummary"]["StreamARN"]

    def shards(self) -> list[Shard]:
        return [Shard(s.shard_id, s.parents) for s in kinesis.list_shards(self.client, self.stream)]

    def iterator(self, shard_id: str, position: str, after: str | None, timestamp: float | None) -> str:
        kwargs: dict[str, Any] = {"StreamName": self.stream, "ShardId": shard_id}
        if after is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        elif position == "AT_TIMESTAMP":
            kwargs.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=timestamp)
        else:
            kwargs.update(ShardIteratorType=position)
        return self.client.get_shard_iterator(**kwargs)["ShardIterator"]

    def get_records(self, iterator: str, limit: int) -> Page:
        page = self.client.get_records(ShardIterator=iterator, Limit=min(limit, self.max_records))
        return Page(page["Records"], page.get("NextShardIterator"), int(page.get("MillisBehindLatest", 0)))

    def read(self, shard_id: str, iterator: str, limit: int) -> Read:
        page = self.get_records(iterator, limit)
        records = kinesis_records(
            page.records, shard_id=shard_id, stream_arn=self.arn, region=self.region, function_name=self.function_name
        )
        return Read(records, page.next_iterator, page.behind_ms)

    def is_expired(self, exc: Exception) -> bool:
        return isinstance(exc, self.client.exceptions.ExpiredIteratorException)

    def is_throttled(self, exc: Exception) -> bool:
        """The shard's read quota (5 calls/s, 2 MiB/s) is used up: wait and read the same iterator again."""
        return isinstance(exc, self.client.exceptions.ProvisionedThroughputExceededException)


class DynamoDBStreamSource:
    kind = "dynamodb"
    max_records = 1000

    def __init__(self, settings: Settings) -> None:
        self.client = aws.stream_reader("dynamodbstreams")
        table = aws.client("dynamodb").describe_table(TableName=settings.table)["Table"]
        self.arn = table["LatestStreamArn"]

    def shards(self) -> list[Shard]:
        out: list[Shard] = []
        kwargs: dict[str, Any] = {"StreamArn": self.arn}
        while True:
            desc = self.client.describe_stream(**kwargs)["StreamDescription"]
            for s in desc["Shards"]:
                out.append(Shard(s["ShardId"], (s["ParentShardId"],) if s.get("ParentShardId") else ()))
            last = desc.get("LastEvaluatedShardId")
            if not last:
                return out
            kwargs = {"StreamArn": self.arn, "ExclusiveStartShardId": last}

    def iterator(self, shard_id: str, position: str, after: str | None, timestamp: float | None) -> str:
        kwargs: dict[str, Any] = {"StreamArn": self.arn, "ShardId": shard_id}
        if after is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=after)
        else:  # DynamoDB Streams has no AT_TIMESTAMP
            kwargs.update(ShardIteratorType="LATEST" if position == "LATEST" else "TRIM_HORIZON")
        return self.client.get_shard_iterator(**kwargs)["ShardIterator"]

    def read(self, shard_id: str, iterator: str, limit: int) -> Read:
        page = self.client.get_records(ShardIterator=iterator, Limit=min(limit, self.max_records))
        records = [dynamodb_record(stream_arn=self.arn, raw=r) for r in page["Records"]]
        return Read(records, page.get("NextShardIterator"), 0)

    def is_expired(self, exc: Exception) -> bool:
        return isinstance(exc, self.client.exceptions.ExpiredIteratorException)

    def is_throttled(self, exc: Exception) -> bool:
        return isinstance(exc, self.client.exceptions.LimitExceededException)


def source_for(mapping: MappingDef, settings: Settings) -> Source:
    if mapping.source == "kinesis":
        return KinesisSource(settings, mapping.name)
    return DynamoDBStreamSource(settings)
