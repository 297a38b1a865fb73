"""Reading the two stream sources through boto3: Kinesis Data Streams and DynamoDB Streams."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from alleycat.adapters import aws
from alleycat.resources import MappingDef
from alleycat.settings import Settings
from infra.local.esm.shapes import StreamRecord, dynamodb_record, kinesis_record


@dataclass(frozen=True)
class Shard:
    shard_id: str
    parent_ids: tuple[str, ...]


@dataclass(frozen=True)
class Read:
    records: list[StreamRecord]
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


class KinesisSource:
    kind = "kinesis"
    max_records = 10_000

    def __init__(self, settings: Settings, function_name: str) -> None:
        self.client = aws.client("kinesis")
        self.stream = settings.stream
        self.region = settings.region
        self.function_name = function_name
        self.arn = self.client.describe_stream_summary(StreamName=self.stream)["StreamDescriptionSummary"]["StreamARN"]

    def shards(self) -> list[Shard]:
        out: list[Shard] = []
        kwargs: dict[str, Any] = {"StreamName": self.stream}
        while True:
            page = self.client.list_shards(**kwargs)
            for s in page["Shards"]:
                parents = tuple(p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p)
                out.append(Shard(s["ShardId"], parents))
            if not page.get("NextToken"):
                return out
            kwargs = {"NextToken": page["NextToken"]}

    def iterator(self, shard_id: str, position: str, after: str | None, timestamp: float | None) -> str:
        kwargs: dict[str, Any] = {"StreamName": self.stream, "ShardId": shard_id}
        if after is not None:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=after)
        elif position == "AT_TIMESTAMP":
            kwargs.update(ShardIteratorType="AT_TIMESTAMP", Timestamp=timestamp)
        else:
            kwargs.update(ShardIteratorType=position)
        return self.client.get_shard_iterator(**kwargs)["ShardIterator"]

    def read(self, shard_id: str, iterator: str, limit: int) -> Read:
        page = self.client.get_records(ShardIterator=iterator, Limit=min(limit, self.max_records))
        records = [
            kinesis_record(
                shard_id=shard_id, stream_arn=self.arn, region=self.region, function_name=self.function_name, raw=r
            )
            for r in page["Records"]
        ]
        return Read(records, page.get("NextShardIterator"), int(page.get("MillisBehindLatest", 0)))

    def is_expired(self, exc: Exception) -> bool:
        return isinstance(exc, self.client.exceptions.ExpiredIteratorException)


class DynamoDBStreamSource:
    kind = "dynamodb"
    max_records = 1000

    def __init__(self, settings: Settings) -> None:
        self.client = aws.client("dynamodbstreams")
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


def source_for(mapping: MappingDef, settings: Settings) -> Source:
    if mapping.source == "kinesis":
        return KinesisSource(settings, mapping.name)
    return DynamoDBStreamSource(settings)
