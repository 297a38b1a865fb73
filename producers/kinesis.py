"""The Kinesis writer: PutRecords in batches, retrying only what failed, dead-lettering the rest.

* A batch holds at most 500 records and 5 MB (data plus partition keys), PutRecords' limits.
* A partly failed call (``FailedRecordCount`` > 0) re-sends only the failed records; a whole-call
  error that is worth retrying (throttling, internal errors, connection trouble) re-sends the batch.
  Waits grow exponentially with full jitter, for a bounded number of attempts.
* What still fails is written to the dead-letter file and counted: throttling never loses a record
  silently.
* ``buffer_ms`` > 0 holds records until the oldest has waited that long or a batch is full: fewer,
  fuller calls for some latency (series part 2). The clock is checked on ``put`` and ``flush``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from producers.sinks import DeadLetterFile, Record, SinkStats

log = logging.getLogger("alleycat.producer")

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
THROTTLED = "ProvisionedThroughputExceededException"
RETRYABLE_ERRORS = frozenset(
    {
        "ConnectionError",
        "ProvisionedThroughputExceededException",
        "LimitExceededException",
        "ThrottlingException",
        "KMSThrottlingException",
        "InternalFailure",
        "InternalFailureException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter: wait uniform(0, min(cap, base * 2^(attempt-1)))."""

    max_attempts: int = 8
    base_s: float = 0.05
    cap_s: float = 2.0

    def delay_s(self, attempt: int, rng: random.Random) -> float:
        return rng.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))


def record_bytes(record: Record) -> int:
    return len(record.data) + len(record.partition_key.encode())


def batches(records: list[Record]) -> Iterator[list[Record]]:
    """Split ``records``, in order, into PutRecords-sized batches."""
    batch: list[Record] = []
    size = 0
    for record in records:
        n = record_bytes(record)
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + n > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += n
    if batch:
        yield batch


@dataclass(frozen=True, slots=True)
class _Failure:
    record: Record
    code: str
    message: str


class KinesisSink:
    def __init__(
        self,
        stream: str,
        client: Any,
        dead_letter: DeadLetterFile,
        *,
        buffer_ms: int = 0,
        retry: RetryPolicy = RetryPolicy(),
        rng: random.Random | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.client = client
        self.dead_letter = dead_letter
        self.buffer_s = buffer_ms / 1000
        self.retry = retry
        self.rng = rng or random.Random()
        self.sleep = sleep
        self.clock = clock
        self.stats = SinkStats()
        self._buffer: list[Record] = []
        self._oldest = 0.0

    def put(self, records: list[Record]) -> None:
        for record in records:
            if record_bytes(record) > MAX_RECORD_BYTES:
                self._give_up([_Failure(record, "RecordTooLarge", f"{record_bytes(record)} bytes")], attempts=0)
            else:
                if not self._buffer:
                    self._oldest = self.clock()
                self._buffer.append(record)
        if self.clock() - self._oldest >= self.buffer_s:
            self.flush()
        else:
            self._send_full_batches()

    def flush(self) -> None:
        pending, self._buffer = self._buffer, []
        for batch in batches(pending):
            self._send(batch)

    def close(self) -> None:
        self.flush()

    def _send_full_batches(self) -> None:
        split = list(batches(self._buffer))
        if len(split) > 1:
            self._buffer = split.pop()
            for batch in split:
                self._send(batch)

    def _send(self, batch: list[Record]) -> None:
        pending = batch
        attempt = 1
        while True:
            failures = self._attempt(pending)
            retry: list[_Failure] = []
            give_up: list[_Failure] = []
            for f in failures:
                (retry if f.code in RETRYABLE_ERRORS and attempt < self.retry.max_attempts else give_up).append(f)
            if give_up:
                self._give_up(give_up, attempts=attempt)
            if not retry:
                return
            wait = self.retry.delay_s(attempt, self.rng)
            log.info(
                "retrying records",
                extra={"stream": self.stream, "records": len(retry), "attempt": attempt, "wait_s": round(wait, 3)},
            )
            self.sleep(wait)
            attempt += 1
            pending = [f.record for f in retry]
            self.stats.retried += len(pending)

    def _attempt(self, records: list[Record]) -> list[_Failure]:
        """One PutRecords call. Returns the records that failed, with why."""
        self.stats.calls += 1
        entries = [{"Data": r.data, "PartitionKey": r.partition_key} for r in records]
        try:
            response = self.client.put_records(StreamName=self.stream, Records=entries)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == THROTTLED:
                self.stats.throttled += len(records)
            return [_Failure(r, error.get("Code", "ClientError"), error.get("Message", str(exc))) for r in records]
        except (BotoConnectionError, HTTPClientError) as exc:
            return [_Failure(r, "ConnectionError", str(exc)) for r in records]
        failures = []
        for record, result in zip(records, response["Records"], strict=True):
            if "ErrorCode" in result:
                failures.append(_Failure(record, result["ErrorCode"], result.get("ErrorMessage", "")))
        self.stats.sent += len(records) - len(failures)
        self.stats.throttled += sum(1 for f in failures if f.code == THROTTLED)
        return failures

    def _give_up(self, failures: list[_Failure], attempts: int) -> None:
        self.stats.failed += len(failures)
        log.warning(
            "records given up",
            extra={
                "stream": self.stream,
                "records": len(failures),
                "error_code": failures[0].code,
                "attempts": attempts,
                "dead_letter": str(self.dead_letter.path),
            },
        )
        for f in failures:
            self.dead_letter.write(f.record, f.code, f.message, attempts)
            self.stats.dead_lettered += 1
