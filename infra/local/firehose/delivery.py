"""``DeliveryStream``: the local Firehose's loop, from the source to objects in the lake.

The source is the Kinesis stream (``reader.KinesisStreamSource``), or with the Kafka transport the
topic, as Firehose with Amazon MSK as its source (``kafka_source.KafkaTopicSource``). ``poll_once``
reads the source once and delivers when the buffer is full, old enough, or a shard has ended;
``flush`` delivers what is buffered and only then checkpoints the source (the checkpoint file, or
the consumer group's offsets); ``run`` does that until stopped. A delivery invokes the transform
(``invocation``), converts the Ok records (``converter``) and writes the objects (``objects``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from alleycat.lake import uris
from alleycat.resources import FIREHOSE_BUFFER_MB, FIREHOSE_BUFFER_SECONDS
from alleycat.settings import Settings
from alleycat.support.files import atomic_write_text
from consumers import firehose_transform
from infra.local.environment import stack_lake
from infra.local.esm.sources import KinesisSource
from infra.local.firehose.buffer import Buffer
from infra.local.firehose.converter import convert
from infra.local.firehose.invocation import INVOCATION_MB, INVOKE_RETRIES, Arns, Handler, invocations, invoke
from infra.local.firehose.kafka_source import KafkaTopicSource
from infra.local.firehose.objects import LocalObjects, ObjectStore, json_lines_body, object_name, parquet_body
from infra.local.firehose.reader import KinesisStreamSource
from infra.local.firehose.records import Outcome, SourceRecord

log = logging.getLogger("alleycat.firehose")

DEFAULT_NAME = "alleycat-firehose"
FUNCTION_NAME = "FirehoseTransform"
MIB = 1024 * 1024
POLL_INTERVAL_S = 0.2  # at most 5 GetRecords a second per shard
IDLE_WAIT_S = 1.0
STATUS_EVERY_S = 1.0
WRITE_RETRY_S = 5.0  # Firehose retries a failed S3 delivery every 5 seconds ...
WRITE_RETRY_FOR_S = 24 * 3600.0  # ... for up to 24 hours


def status_path(home: Path, name: str = DEFAULT_NAME) -> Path:
    """Where a running delivery stream reports its status (``alleycat status`` reads it)."""
    return home / "firehose" / name / "status.json"


class Source(Protocol):
    """What the delivery stream reads: records, and a checkpoint once they are delivered."""

    arn: str
    name: str

    def read(self) -> list[SourceRecord]: ...
    def pending(self) -> bool: ...  # a checkpoint is due with nothing buffered (a Kinesis shard ended)
    def caught_up(self) -> bool: ...  # everything on the source now has been read
    def checkpoint(self) -> None: ...  # everything read so far is delivered
    def behind_ms(self) -> int: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


def source_of(settings: Settings, name: str) -> Source:
    """The source ``settings.transport`` names: the topic (an MSK source) or the stream."""
    if settings.transport == "kafka":
        return KafkaTopicSource(settings, group_id=name)
    return KinesisStreamSource(
        KinesisSource(settings, FUNCTION_NAME), settings.home / "firehose" / name / "checkpoints.json"
    )


@dataclass(frozen=True, slots=True)
class DeliveryStatus:
    name: str
    files_written: int
    records_delivered: int
    records_failed: int
    records_dropped: int
    last_delivery: datetime | None
    buffered_records: int
    checkpoint_lag_s: float  # age of the oldest record read but not yet delivered and checkpointed
    millis_behind_latest: int  # the largest of the shards' MillisBehindLatest at the last read
    write_retries: int  # object writes that failed and were tried again


class DeliveryStream:
    """The delivery stream ``name``, reading its source (``source_of``) into the stack's lake
    (``infra.local.environment.stack_lake``)."""

    def __init__(
        self,
        settings: Settings,
        name: str = DEFAULT_NAME,
        buffer_seconds: float = FIREHOSE_BUFFER_SECONDS,
        buffer_mb: float = FIREHOSE_BUFFER_MB,
        handler: Handler = firehose_transform.handler,
        invocation_mb: float = INVOCATION_MB,
        retries: int = INVOKE_RETRIES,
        retry_backoff_s: float = 0.5,
        objects: ObjectStore | None = None,
        write_retry_s: float = WRITE_RETRY_S,
        source: Source | None = None,
    ) -> None:
        self.settings = settings
        self.name = name
        self.handler = handler
        self.invocation_bytes = int(invocation_mb * MIB)
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self.objects = objects or LocalObjects()
        self.write_retry_s = write_retry_s
        self.lake = stack_lake(settings)
        self.source = source or source_of(settings, name)
        self.arns = _arns(self.source.arn, name, settings.region)
        self.buffer = Buffer(int(buffer_mb * MIB), buffer_seconds)
        self._files = self._delivered = self._failed = self._dropped = self._write_retries = 0
        self._last_delivery: datetime | None = None
        self._status_written = 0.0

    def poll_once(self) -> int:
        """Read the source once; deliver if the buffer is full or old enough. Returns records read."""
        records = self.source.read()
        for record in records:
            self.buffer.add(record)
        shard_ended = not len(self.buffer) and self.source.pending()
        if self.buffer.full() or self.buffer.due() or shard_ended:
            self.flush()
        return len(records)

    def flush(self) -> None:
        """Deliver everything buffered, then checkpoint the source."""
        if len(self.buffer):
            self._deliver(self.buffer.records())
            self.buffer.clear()
        self.source.checkpoint()

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, then flush and checkpoint."""
        log.info("delivery stream started", extra={"deliveryStream": self.name, "source": self.source.name})
        try:
            while not stop.is_set():
                try:
                    read = self.poll_once()
                except Exception:
                    log.exception("delivery failed; retrying", extra={"deliveryStream": self.name})
                    read = 0
                self.write_status()
                stop.wait(POLL_INTERVAL_S if read else IDLE_WAIT_S)
            self.flush()
        finally:
            self.source.close()
        self.write_status(force=True)
        status = asdict(self.status())
        status.pop("name")  # a reserved LogRecord attribute; deliveryStream says it
        log.info("delivery stream stopped", extra={"deliveryStream": self.name, **status})

    def write_status(self, force: bool = False) -> None:
        """The status, and the source's: each shard's MillisBehindLatest and checkpoint, or each
        partition's committed offset, for ``alleycat status``."""
        now = time.monotonic()
        if not force and now - self._status_written < STATUS_EVERY_S:
            return
        self._status_written = now
        doc = {
            **asdict(self.status()),
            "last_delivery": self._last_delivery.isoformat() if self._last_delivery else None,
            **self.source.status(),
            "updated_at": time.time(),
            "pid": os.getpid(),  # a status left by a killed process names a dead pid
        }
        atomic_write_text(status_path(self.settings.home, self.name), json.dumps(doc))

    def status(self) -> DeliveryStatus:
        oldest = self.buffer.oldest_arrival_ms()
        return DeliveryStatus(
            name=self.name,
            files_written=self._files,
            records_delivered=self._delivered,
            records_failed=self._failed,
            records_dropped=self._dropped,
            last_delivery=self._last_delivery,
            buffered_records=len(self.buffer),
            checkpoint_lag_s=0.0 if oldest is None else max(0.0, time.time() - oldest / 1000),
            millis_behind_latest=self.source.behind_ms(),
            write_retries=self._write_retries,
        )

    def _deliver(self, records: list[SourceRecord]) -> None:
        outcome = Outcome()
        for batch in invocations(records, self.invocation_bytes):
            outcome.add(invoke(self.handler, batch, self.arns, self.retries, self.retry_backoff_s))
        rows, unconvertible = convert(outcome.transformed)
        failed = outcome.failed + unconvertible
        now = datetime.now(UTC)
        layout = self.lake.layout
        for (dt, hour), part_rows in sorted(rows.items()):
            uri = uris.join(layout.raw, f"dt={dt}", f"hour={hour}", object_name(self.name, now, ".parquet"))
            self._put(Path(self.lake.resolve(uri)), parquet_body(part_rows))
        if failed:
            oldest = datetime.fromtimestamp(min(f.record.arrival_ms for f in failed) / 1000, UTC)
            uri = uris.join(layout.processing_failed, f"{oldest:%Y/%m/%d/%H}", object_name(self.name, now))
            docs = [f.error_record(self.arns.function) for f in failed]
            self._put(Path(self.lake.resolve(uri)), json_lines_body(docs))
        delivered = sum(len(r) for r in rows.values())
        self._files += len(rows) + bool(failed)
        self._delivered += delivered
        self._failed += len(failed)
        self._dropped += outcome.dropped
        self._last_delivery = now
        log.info(
            "delivered",
            extra={
                "deliveryStream": self.name,
                "records": len(records),
                "delivered": delivered,
                "failed": len(failed),
                "dropped": outcome.dropped,
                "partitions": len(rows),
            },
        )

    def _put(self, path: Path, body: bytes) -> None:
        """Write one object, retrying a failed write every ``write_retry_s`` as Firehose retries S3.
        The objects written before stay (a retry never rewrites them) and the checkpoints wait, so a
        crash during the retries re-delivers the buffer: at least once. Past 24 hours Firehose
        discards the data; here the error goes up and the whole delivery is tried again."""
        deadline = time.monotonic() + WRITE_RETRY_FOR_S
        while True:
            try:
                self.objects.put(path, body)
                return
            except OSError as exc:
                if time.monotonic() >= deadline:
                    raise
                self._write_retries += 1
                log.warning(
                    "object write failed; retrying",
                    extra={"deliveryStream": self.name, "object": path.name, "error": str(exc)[:200]},
                )
                time.sleep(self.write_retry_s)


def _arns(source_arn: str, delivery_stream: str, region: str) -> Arns:
    account = source_arn.split(":")[4]
    return Arns(
        source=source_arn,
        delivery_stream=f"arn:aws:firehose:{region}:{account}:deliverystream/{delivery_stream}",
        function=f"arn:aws:lambda:{region}:{account}:function:{FUNCTION_NAME}",
        region=region,
    )
