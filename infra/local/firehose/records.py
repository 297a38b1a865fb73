"""What the local Firehose moves: a record of its source (a Kinesis stream or a Kafka topic), and
what became of it."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class KinesisRecord:
    data: bytes
    shard_id: str
    sequence_number: str
    partition_key: str
    arrival_ms: int


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """A record of the source topic (Firehose with Amazon MSK as its source)."""

    data: bytes
    topic: str
    partition: int
    offset: int
    arrival_ms: int  # the record's Kafka timestamp


SourceRecord = KinesisRecord | KafkaRecord


@dataclass(frozen=True, slots=True)
class Transformed:
    """A record the function answered Ok: its new data and its partition (dt, hour)."""

    record: SourceRecord
    data: bytes
    partition: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Failed:
    record: SourceRecord
    error_code: str
    error_message: str
    attempts: int
    attempt_ending_ms: int

    def error_record(self, lambda_arn: str) -> dict[str, Any]:
        """Firehose's processing-failed document for this record."""
        return {
            "attemptsMade": self.attempts,
            "arrivalTimestamp": self.record.arrival_ms,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "attemptEndingTimestamp": self.attempt_ending_ms,
            "rawData": base64.b64encode(self.record.data).decode(),
            "lambdaArn": lambda_arn,
        }


@dataclass(slots=True)
class Outcome:
    """Every record of an invocation gets exactly one outcome: transformed, failed or dropped."""

    transformed: list[Transformed] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    dropped: int = 0

    def add(self, other: Outcome) -> None:
        self.transformed += other.transformed
        self.failed += other.failed
        self.dropped += other.dropped
