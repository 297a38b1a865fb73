"""An in-memory Kinesis Data Streams client: the calls Alleycat makes, answered as AWS answers them.

``FakeKinesis`` stands in for ``boto3.client("kinesis")`` wherever a client is passed in (the
producer's sink, ``alleycat simulate``, the shard listing of ``alleycat.adapters.kinesis``). It
keeps every record it accepted, per shard and in order, so a test can check that each record
arrived exactly once, and it can refuse records the way a busy stream does:

* ``ShardBudget``: at most N records per shard per second (AWS's limit is 1,000), on a clock
  the test controls;
* ``FirstAttempts``: every record is refused on its first N attempts, then accepted;
* ``RandomThrottle``: every attempt is refused with a probability (seeded).

A refused record of a PutRecords call gets ``ProvisionedThroughputExceededException`` with AWS's
message (account, stream and shard); a refused PutRecord raises it as a ``ClientError``. Whole-call
errors queued in ``errors`` are raised by the next put calls first. Records are routed to shards
as Kinesis does: the MD5 of the partition key (or the explicit hash key) in the shards' hash ranges.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from alleycat.support.clock import Clock, SystemClock

THROTTLED = "ProvisionedThroughputExceededException"
ACCOUNT = "000000000000"
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
HASH_SPACE = 2**128
LIST_SHARDS_MAX = 1000  # ListShards' largest page


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record the fake accepted."""

    stream: str
    shard_id: str
    sequence_number: str
    partition_key: str
    data: bytes
    arrival: datetime


class Throttle(Protocol):
    """Decides, attempt by attempt, whether a shard takes a record."""

    def admits(self, shard_id: str, data: bytes, partition_key: str) -> bool: ...


class NoThrottle:
    def admits(self, shard_id: str, data: bytes, partition_key: str) -> bool:
        return True


class ShardBudget:
    """At most ``records_per_s`` records per shard in each second of ``clock`` (AWS: 1,000)."""

    def __init__(self, records_per_s: int = 1000, clock: Clock | None = None) -> None:
        self.records_per_s = records_per_s
        self.clock = clock or SystemClock()
        self._used: Counter[tuple[str, int]] = Counter()

    def admits(self, shard_id: str, data: bytes, partition_key: str) -> bool:
        window = (shard_id, self.clock.now_ms() // 1000)
        if self._used[window] >= self.records_per_s:
            return False
        self._used[window] += 1
        return True


class FirstAttempts:
    """Refuses each record (same bytes, same key) on its first ``n`` attempts."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._attempts: Counter[tuple[bytes, str]] = Counter()

    def admits(self, shard_id: str, data: bytes, partition_key: str) -> bool:
        self._attempts[(data, partition_key)] += 1
        return self._attempts[(data, partition_key)] > self.n


class RandomThrottle:
    """Refuses each attempt with probability ``rate``, reproducibly under ``seed``."""

    def __init__(self, rate: float, seed: int = 1) -> None:
        self.rate = rate
        self.rng = random.Random(seed)

    def admits(self, shard_id: str, data: bytes, partition_key: str) -> bool:
        return self.rng.random() >= self.rate


@dataclass(slots=True)
class _Shard:
    shard_id: str
    start_hash: int
    end_hash: int
    records: list[StoredRecord] = field(default_factory=list)

    def description(self) -> dict[str, Any]:
        first = self.records[0].sequence_number if self.records else "0"
        return {
            "ShardId": self.shard_id,
            "HashKeyRange": {"StartingHashKey": str(self.start_hash), "EndingHashKey": str(self.end_hash)},
            "SequenceNumberRange": {"StartingSequenceNumber": first},
        }


class FakeKinesis:
    """A Kinesis client in memory. ``streams`` maps the names of streams to create to their shard
    counts; ``page_size`` makes ListShards paginate (as it does past 1,000 shards)."""

    def __init__(
        self,
        streams: Mapping[str, int] | None = None,
        *,
        throttle: Throttle | None = None,
        errors: Iterable[Exception] = (),
        page_size: int = LIST_SHARDS_MAX,
        clock: Clock | None = None,
    ) -> None:
        self.throttle = throttle or NoThrottle()
        self.errors = list(errors)
        self.page_size = page_size
        self.clock = clock or SystemClock()
        self.batch_sizes: list[int] = []  # the record count of each PutRecords call, in order
        self._streams: dict[str, list[_Shard]] = {}
        self._sequence = 0
        for name, shards in (streams or {}).items():
            self.create_stream(StreamName=name, ShardCount=shards)

    # what a test reads

    def records(self, stream: str) -> list[StoredRecord]:
        """Every record ``stream`` accepted, in the order accepted."""
        shards = self._shards(stream)
        return sorted((r for s in shards for r in s.records), key=lambda r: int(r.sequence_number))

    # the Kinesis API

    def create_stream(self, StreamName: str, ShardCount: int = 1, **_: Any) -> dict[str, Any]:
        if StreamName in self._streams:
            raise _error("ResourceInUseException", f"Stream {StreamName} under account {ACCOUNT} already exists.")
        width = HASH_SPACE // ShardCount
        self._streams[StreamName] = [
            _Shard(
                f"shardId-{i:012d}",
                i * width,
                HASH_SPACE - 1 if i == ShardCount - 1 else (i + 1) * width - 1,
            )
            for i in range(ShardCount)
        ]
        return {}

    def put_records(self, StreamName: str, Records: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.batch_sizes.append(len(Records))
        self._raise_queued()
        shards = self._shards(StreamName)
        if not 1 <= len(Records) <= MAX_BATCH_RECORDS:
            raise _error(
                "ValidationException", f"{len(Records)} records: a call takes 1 to {MAX_BATCH_RECORDS}.", "PutRecords"
            )
        if sum(len(r["Data"]) + len(r["PartitionKey"].encode()) for r in Records) > MAX_BATCH_BYTES:
            raise _error("InvalidArgumentException", f"Records size exceeds {MAX_BATCH_BYTES} bytes.", "PutRecords")
        results = [self._put(StreamName, shards, r) for r in Records]
        return {"FailedRecordCount": sum("ErrorCode" in r for r in results), "Records": results}

    def put_record(self, StreamName: str, Data: bytes, PartitionKey: str, **kwargs: Any) -> dict[str, Any]:
        self._raise_queued()
        entry = {"Data": Data, "PartitionKey": PartitionKey, **kwargs}
        result = self._put(StreamName, self._shards(StreamName), entry)
        if "ErrorCode" in result:
            raise _error(result["ErrorCode"], result["ErrorMessage"], "PutRecord")
        return result

    def list_shards(
        self, StreamName: str | None = None, NextToken: str | None = None, MaxResults: int | None = None, **_: Any
    ) -> dict[str, Any]:
        if NextToken is not None and StreamName is None:
            stream, start = _token(NextToken)
        elif StreamName is not None and NextToken is None:
            stream, start = StreamName, 0
        else:  # as AWS: a follow-up page is asked for by its token alone
            raise _error("InvalidArgumentException", "Give either StreamName or NextToken.", "ListShards")
        shards = self._shards(stream)
        end = start + min(MaxResults or LIST_SHARDS_MAX, self.page_size)
        page: dict[str, Any] = {"Shards": [s.description() for s in shards[start:end]]}
        if end < len(shards):
            page["NextToken"] = f"{stream}|{end}"
        return page

    def get_shard_iterator(
        self,
        StreamName: str,
        ShardId: str,
        ShardIteratorType: str,
        StartingSequenceNumber: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        records = self._shard(StreamName, ShardId).records
        if ShardIteratorType == "TRIM_HORIZON":
            position = 0
        elif ShardIteratorType == "LATEST":
            position = len(records)
        elif ShardIteratorType in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") and StartingSequenceNumber:
            wanted = int(StartingSequenceNumber) + (ShardIteratorType == "AFTER_SEQUENCE_NUMBER")
            position = next((i for i, r in enumerate(records) if int(r.sequence_number) >= wanted), len(records))
        else:
            raise _error("InvalidArgumentException", f"ShardIteratorType {ShardIteratorType} is not supported here.")
        return {"ShardIterator": f"{StreamName}|{ShardId}|{position}"}

    def get_records(self, ShardIterator: str, Limit: int = 10_000, **_: Any) -> dict[str, Any]:
        stream, shard_id, offset = ShardIterator.split("|")
        records = self._shard(stream, shard_id).records
        start = int(offset)
        page = records[start : start + Limit]
        end = start + len(page)
        return {
            "Records": [
                {
                    "SequenceNumber": r.sequence_number,
                    "PartitionKey": r.partition_key,
                    "Data": r.data,
                    "ApproximateArrivalTimestamp": r.arrival,
                }
                for r in page
            ],
            "NextShardIterator": f"{stream}|{shard_id}|{end}",  # shards here never close
            "MillisBehindLatest": 0 if end == len(records) else 1000,
        }

    # inside

    def _raise_queued(self) -> None:
        if self.errors:
            raise self.errors.pop(0)

    def _shards(self, stream: str) -> list[_Shard]:
        try:
            return self._streams[stream]
        except KeyError:
            raise _error("ResourceNotFoundException", f"Stream {stream} under account {ACCOUNT} not found.") from None

    def _shard(self, stream: str, shard_id: str) -> _Shard:
        for shard in self._shards(stream):
            if shard.shard_id == shard_id:
                return shard
        raise _error("ResourceNotFoundException", f"Shard {shard_id} in stream {stream} not found.")

    def _put(self, stream: str, shards: list[_Shard], entry: Mapping[str, Any]) -> dict[str, Any]:
        data: bytes = entry["Data"]
        key: str = entry["PartitionKey"]
        if len(data) + len(key.encode()) > MAX_RECORD_BYTES:
            raise _error("ValidationException", f"A record is at most {MAX_RECORD_BYTES} bytes.")
        explicit = entry.get("ExplicitHashKey")
        point = (
            int(explicit)
            if explicit
            else int.from_bytes(hashlib.md5(key.encode(), usedforsecurity=False).digest(), "big")
        )
        shard = next(s for s in shards if s.start_hash <= point <= s.end_hash)
        if not self.throttle.admits(shard.shard_id, data, key):
            return {
                "ErrorCode": THROTTLED,
                "ErrorMessage": f"Rate exceeded for shard {shard.shard_id} in stream {stream} under account {ACCOUNT}.",
            }
        self._sequence += 1
        arrival = datetime.fromtimestamp(self.clock.now_ms() / 1000, UTC)
        record = StoredRecord(stream, shard.shard_id, str(self._sequence), key, data, arrival)
        shard.records.append(record)
        return {"ShardId": shard.shard_id, "SequenceNumber": record.sequence_number}


def _hash_key(partition_key: str) -> int:
    """Where Kinesis puts a partition key: its MD5 as a 128-bit integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode(), usedforsecurity=False).digest(), "big")


def _token(token: str) -> tuple[str, int]:
    stream, _, offset = token.rpartition("|")
    return stream, int(offset)


def _error(code: str, message: str, operation: str = "Kinesis") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)
