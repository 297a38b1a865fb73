"""What every writer shares: the record, the ``Sink`` protocol, its counters and the dead-letter file."""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from alleycat.domain.events import Telemetry

PartitionStrategy = Literal["race", "racer", "random"]
PARTITION_STRATEGIES: tuple[PartitionStrategy, ...] = ("race", "racer", "random")


@dataclass(frozen=True, slots=True)
class Record:
    """One stream record: the exact bytes sent and the partition key."""

    data: bytes
    partition_key: str


def partition_key(event: Telemetry, strategy: PartitionStrategy) -> str:
    """``race`` keeps a race (raceId and class) ordered on one shard; ``racer`` spreads a race;
    ``random`` spreads evenly (the message uuid is random, and reproducible under a seed)."""
    if strategy == "race":
        return f"{event.race_id}-{event.class_id}"
    if strategy == "racer":
        return str(event.racer_id)
    return event.uuid


@dataclass(slots=True)
class SinkStats:
    """Counters of one sink. ``failed`` records were given up; ``dead_lettered`` of them reached the
    dead-letter file; ``retried`` counts re-sends of records after a failed attempt; ``throttled`` the attempts refused
    with ProvisionedThroughputExceededException."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    dead_lettered: int = 0
    calls: int = 0
    throttled: int = 0  # record attempts the stream refused for its shard's write quota


class Sink(Protocol):
    stats: SinkStats

    def put(self, records: list[Record]) -> None:
        """Accept records; they may be buffered until ``flush``."""

    def flush(self) -> None:
        """Deliver (or dead-letter) everything accepted so far."""

    def close(self) -> None:
        """Flush and release the connection."""


class DeadLetterFile:
    """Records a sink gave up on, one JSON object a line, in ``<dir>/producer-<time>-<pid>.jsonl``.
    The file is created on the first record."""

    def __init__(self, directory: Path) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.path = directory / f"producer-{stamp}-{os.getpid()}.jsonl"

    def write(self, record: Record, error_code: str, error_message: str, attempts: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "errorCode": error_code,
            "errorMessage": error_message,
            "partitionKey": record.partition_key,
            "data": base64.b64encode(record.data).decode(),
            "attempts": attempts,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        with self.path.open("a") as out:
            out.write(json.dumps(entry) + "\n")
