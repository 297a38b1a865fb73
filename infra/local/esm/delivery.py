"""Delivering one batch to a function with AWS's error semantics for stream sources.

* A function error (an exception, a timeout, or a malformed partial-failure response) fails the
  whole batch. With BisectBatchOnFunctionError the batch is split in two and each half retried;
  splitting does not use up retry attempts. Otherwise it is retried up to MaximumRetryAttempts
  (-1: until the records expire), then given up.
* With ReportBatchItemFailures, ``{"batchItemFailures": [{"itemIdentifier": seq}, ...]}`` marks the
  records before the lowest reported sequence number as done; the rest is retried (one attempt).
  An empty or null identifier, or one not in the batch, is a failure of the whole batch.
* Before each attempt, records older than MaximumRecordAgeInSeconds are given up.
* Given-up records go to the on-failure destination as one record of the batch's metadata.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alleycat.support.files import atomic_write_text
from infra.local.esm.metrics import ShardMetrics
from infra.local.esm.shapes import StreamRecord, function_arn

log = logging.getLogger("alleycat.esm")

MAX_PAYLOAD_BYTES = 6 * 1024 * 1024


@dataclass(frozen=True)
class Policy:
    maximum_retry_attempts: int  # -1: until the record expires
    maximum_record_age_s: int  # -1: no limit
    bisect_on_error: bool
    report_batch_item_failures: bool
    backoff_base_s: float = 0.2
    backoff_max_s: float = 5.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_max_s, self.backoff_base_s * 2 ** max(0, attempt - 1))


class FunctionError(Exception):
    """The function failed (raised, timed out, or answered something Lambda rejects)."""


def first_failed(response: Any, batch: Sequence[StreamRecord], report_failures: bool) -> int | None:
    """Index of the first record to retry after a successful invoke, or None if all succeeded.
    Raises FunctionError for a response that fails the whole batch."""
    if not report_failures or not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if not failures:
        return None
    index = {r.sequence_number: i for i, r in enumerate(batch)}
    positions = []
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not ident or ident not in index:
            raise FunctionError(f"invalid batchItemFailures entry {item!r}")
        positions.append(index[ident])
    return min(positions)


Discard = Callable[[Sequence[StreamRecord], str, int, str | None], None]


def deliver(
    batch: Sequence[StreamRecord],
    invoke: Callable[[Sequence[StreamRecord]], Any],
    policy: Policy,
    discard: Discard,
    stop: threading.Event,
    now: Callable[[], float] = time.time,
    metrics: ShardMetrics | None = None,
) -> bool:
    """Process ``batch`` to the end (every record done or given up). Returns False only when
    ``stop`` was set while a retry was pending: the caller must not checkpoint past the batch."""
    pending: deque[tuple[Sequence[StreamRecord], int]] = deque([(batch, 0)])
    while pending:
        records, attempts = pending.popleft()
        if policy.maximum_record_age_s >= 0:
            cutoff = now() - policy.maximum_record_age_s
            expired = [r for r in records if r.arrival_s < cutoff]
            if expired:
                discard(expired, "RecordAgeExceeded", attempts, None)
                records = [r for r in records if r.arrival_s >= cutoff]
                if not records:
                    continue
        error: str | None = None
        try:
            failed_at = first_failed(invoke(records), records, policy.report_batch_item_failures)
        except Exception as exc:  # the function's error, whatever it is
            error = f"{type(exc).__name__}: {exc}"
            failed_at = 0
        if failed_at is None:
            continue
        if metrics is not None:
            metrics.add(failed=1)
        records = records[failed_at:]
        if error is not None and policy.bisect_on_error and len(records) > 1:
            mid = len(records) // 2
            pending.appendleft((records[mid:], attempts))
            pending.appendleft((records[:mid], attempts))
            continue
        attempts += 1
        log.warning(
            "batch failed",
            extra={"error": error or "batchItemFailures", "records": len(records), "attempt": attempts},
        )
        if 0 <= policy.maximum_retry_attempts < attempts:
            discard(records, "RetryAttemptsExhausted", attempts, error)
            continue
        if metrics is not None:
            metrics.add(retried=1)
        if stop.wait(policy.backoff(attempts)):
            return False
        pending.appendleft((records, attempts))
    return True


def iso_ms(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(epoch_s * 1000) % 1000:03d}Z"


def invocation_record(
    region: str, function_name: str, condition: str, attempts: int, error: str | None
) -> dict[str, Any]:
    """The part of an on-failure destination's invocation record every event source shares."""
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
    if error is not None:
        response["functionError"] = "Unhandled"
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn(region, function_name),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": iso_ms(time.time()),
    }


def chunks(records: Sequence[StreamRecord], batch_size: int) -> list[Sequence[StreamRecord]]:
    """Split into batches of at most ``batch_size`` records and about 6 MB of payload."""
    out: list[Sequence[StreamRecord]] = []
    start, size = 0, 0
    for i, rec in enumerate(records):
        rec_bytes = rec.size_bytes * 4 // 3 + 600
        if i > start and (i - start >= batch_size or size + rec_bytes > MAX_PAYLOAD_BYTES):
            out.append(records[start:i])
            start, size = i, 0
        size += rec_bytes
    if start < len(records):
        out.append(records[start:])
    return out


class OnFailureDestination:
    """The local on-failure destination: one JSON file per given-up batch, shaped like the record
    Lambda sends to an SQS/SNS/S3 destination (metadata only, as for SQS and SNS)."""

    def __init__(
        self, directory: Path, function_name: str, region: str, source: str, stream_arn: str, shard_id: str
    ) -> None:
        self.directory = directory
        self.function_name = function_name
        self.region = region
        self.info_key = "KinesisBatchInfo" if source == "kinesis" else "DDBStreamBatchInfo"
        self.stream_arn = stream_arn
        self.shard_id = shard_id

    def record(self, batch: Sequence[StreamRecord], condition: str, attempts: int, error: str | None) -> dict[str, Any]:
        return {
            **invocation_record(self.region, self.function_name, condition, attempts, error),
            self.info_key: {
                "shardId": self.shard_id,
                "startSequenceNumber": batch[0].sequence_number,
                "endSequenceNumber": batch[-1].sequence_number,
                "approximateArrivalOfFirstRecord": iso_ms(batch[0].arrival_s),
                "approximateArrivalOfLastRecord": iso_ms(batch[-1].arrival_s),
                "batchSize": len(batch),
                "streamArn": self.stream_arn,
            },
        }

    def __call__(self, batch: Sequence[StreamRecord], condition: str, attempts: int, error: str | None) -> None:
        doc = self.record(batch, condition, attempts, error)
        name = f"{self.shard_id}-{batch[0].sequence_number}-{doc['requestContext']['requestId'][:8]}.json"
        atomic_write_text(self.directory / name, json.dumps(doc, indent=2))
        log.error(
            "records given up",
            extra={
                "function": self.function_name,
                "condition": condition,
                "shard": self.shard_id,
                "records": len(batch),
                "error": error,
                "destination": str(self.directory / name),
            },
        )
