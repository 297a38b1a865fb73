"""A local Firehose delivery stream: Kinesis stream -> transform Lambda -> Parquet in the lake.

It keeps the Firehose contract (docs/design.md, "Local Firehose", lists where it differs):

* reads every shard of ``settings.stream`` (children after their parents are delivered) through
  boto3, with its own per-shard checkpoints in ``<home>/firehose/<name>/checkpoints.json``,
  advanced only after the objects are durably written, so a restart loses and repeats nothing;
* buffers by size and interval (hints), invokes the transform handler in-process with the real
  event shape, at most ``invocation_mb`` of data an invocation, retrying an invocation that raises;
* checks every answer (recordId, result, base64 data, ``metadata.partitionKeys``), converts Ok
  records to Parquet with RAW_SCHEMA under ``raw/dt=/hour=/`` and writes every failed record to
  ``processing-failed/YYYY/MM/DD/HH/`` in Firehose's error-record format.

Every object is written under a hidden temporary name, fsynced and renamed into place.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from alleycat import lake
from alleycat.adapters import aws
from alleycat.domain.lake_schema import RAW_SCHEMA
from alleycat.resources import FIREHOSE_BUFFER_MB, FIREHOSE_BUFFER_SECONDS, LakeLayout
from alleycat.settings import Settings
from consumers import firehose_transform
from infra.local.processes import StackError

log = logging.getLogger("alleycat.firehose")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

DEFAULT_NAME = "alleycat-firehose"
VERSION = 1  # the delivery stream version in object names; bumped by every configuration change on AWS
FUNCTION_NAME = "FirehoseTransform"
INVOCATION_MB = 3.0  # ProcessingConfiguration BufferSizeInMBs: the most data one invocation receives
INVOKE_RETRIES = 3  # Firehose retries a failed Lambda invocation three times by default
MIB = 1024 * 1024
POLL_INTERVAL_S = 0.2  # at most 5 GetRecords a second per shard
IDLE_WAIT_S = 1.0

# errorCode / errorMessage of the error records. FunctionError, MissingRecordId, DuplicatedRecordId and
# JsonProcessingException are the service's codes; the other three are local names (docs/design.md).
FUNCTION_ERROR = (
    "Lambda.FunctionError",
    "The Lambda function was successfully invoked but it returned an error result.",
)
MISSING_RECORD_ID = (
    "Lambda.MissingRecordId",
    "One or more record Ids were not returned. Ensure that the Lambda function returns all received record Ids.",
)
DUPLICATED_RECORD_ID = ("Lambda.DuplicatedRecordId", "Multiple records were returned with the same record Id.")
BAD_RESPONSE = "Lambda.JsonProcessingException"
PROCESSING_FAILED = ("Lambda.ProcessingFailed", "The Lambda function returned result ProcessingFailed for the record.")
BAD_PARTITION_KEYS = "DynamicPartitioning.InvalidPartitionKeys"
CONVERSION_FAILED = "DataFormatConversion.InvalidRecord"

_DT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HOUR = re.compile(r"^\d{2}$")


# --- Records and outcomes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KinesisRecord:
    data: bytes
    shard_id: str
    sequence_number: str
    partition_key: str
    arrival_ms: int


@dataclass(frozen=True, slots=True)
class Transformed:
    """A record the function answered Ok: its new data and its partition (dt, hour)."""

    record: KinesisRecord
    data: bytes
    partition: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Failed:
    record: KinesisRecord
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
    transformed: list[Transformed] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class Arns:
    source_stream: str
    delivery_stream: str
    function: str
    region: str


# --- The transform invocation ------------------------------------------------------------------


def invocations(records: list[KinesisRecord], max_bytes: int) -> list[list[KinesisRecord]]:
    """Split records into invocations of at most ``max_bytes`` of data (at least one record each)."""
    batches: list[list[KinesisRecord]] = []
    size = 0
    for record in records:
        if not batches or (size + len(record.data) > max_bytes and batches[-1]):
            batches.append([])
            size = 0
        batches[-1].append(record)
        size += len(record.data)
    return batches


def event_of(records: dict[str, KinesisRecord], arns: Arns) -> dict[str, Any]:
    """The transformation event Firehose sends for a Kinesis stream source."""
    return {
        "invocationId": str(uuid.uuid4()),
        "sourceKinesisStreamArn": arns.source_stream,
        "deliveryStreamArn": arns.delivery_stream,
        "region": arns.region,
        "records": [
            {
                "recordId": record_id,
                "approximateArrivalTimestamp": r.arrival_ms,
                "data": base64.b64encode(r.data).decode(),
                "kinesisRecordMetadata": {
                    "sequenceNumber": r.sequence_number,
                    "subsequenceNumber": 0,
                    "partitionKey": r.partition_key,
                    "shardId": r.shard_id,
                    "approximateArrivalTimestamp": r.arrival_ms,
                },
            }
            for record_id, r in records.items()
        ],
    }


def invoke(
    handler: Handler, records: list[KinesisRecord], arns: Arns, retries: int = INVOKE_RETRIES, backoff_s: float = 0.5
) -> Outcome:
    """Invoke the transform once for ``records`` (retrying if it raises) and judge every answer."""
    by_id = {uuid.uuid4().hex: r for r in records}
    event = event_of(by_id, arns)
    for attempt in range(1, retries + 2):
        try:
            response = handler(event, None)
            break
        except Exception:
            log.warning(
                "transform invocation failed",
                exc_info=True,
                extra={"invocationId": event["invocationId"], "attempt": attempt, "records": len(records)},
            )
            if attempt <= retries:
                time.sleep(backoff_s * attempt)
    else:
        now = _now_ms()
        return Outcome(failed=[Failed(r, *FUNCTION_ERROR, attempt, now) for r in records])
    return judge(response, by_id, attempt, _now_ms())


def judge(response: Any, records: dict[str, KinesisRecord], attempts: int, now_ms: int) -> Outcome:
    """Match a transform response to its input records: every record gets exactly one outcome."""
    outcome = Outcome()
    answers = response.get("records") if isinstance(response, dict) else None
    if not isinstance(answers, list):
        message = "The response has no list of records."
        outcome.failed = [Failed(r, BAD_RESPONSE, message, attempts, now_ms) for r in records.values()]
        return outcome
    answered: dict[str, dict[str, Any]] = {}
    duplicated: set[str] = set()
    for answer in answers:
        record_id = answer.get("recordId") if isinstance(answer, dict) else None
        if record_id not in records:
            log.warning("transform answered an unknown recordId", extra={"recordId": str(record_id)[:100]})
        elif record_id in answered:
            duplicated.add(record_id)
        else:
            answered[record_id] = answer
    for record_id, record in records.items():
        answer = answered.get(record_id)
        if answer is None:
            outcome.failed.append(Failed(record, *MISSING_RECORD_ID, attempts, now_ms))
        elif record_id in duplicated:
            outcome.failed.append(Failed(record, *DUPLICATED_RECORD_ID, attempts, now_ms))
        elif answer.get("result") == firehose_transform.DROPPED:
            outcome.dropped += 1
        elif answer.get("result") == firehose_transform.PROCESSING_FAILED:
            outcome.failed.append(Failed(record, *PROCESSING_FAILED, attempts, now_ms))
        elif answer.get("result") == firehose_transform.OK:
            judged = _ok(record, answer)
            if isinstance(judged, Transformed):
                outcome.transformed.append(judged)
            else:
                outcome.failed.append(Failed(record, *judged, attempts, now_ms))
        else:
            message = f"result {str(answer.get('result'))[:40]!r} is not Ok, Dropped or ProcessingFailed"
            outcome.failed.append(Failed(record, BAD_RESPONSE, message, attempts, now_ms))
    return outcome


def _ok(record: KinesisRecord, answer: dict[str, Any]) -> Transformed | tuple[str, str]:
    """An Ok answer as a Transformed record, or the (errorCode, errorMessage) it fails with."""
    try:
        data = base64.b64decode(answer["data"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return BAD_RESPONSE, "data is missing or not base64"
    metadata = answer.get("metadata")
    keys = metadata.get("partitionKeys") if isinstance(metadata, dict) else None
    dt = keys.get("dt") if isinstance(keys, dict) else None
    hour = keys.get("hour") if isinstance(keys, dict) else None
    if not (isinstance(dt, str) and _DT.match(dt) and isinstance(hour, str) and _HOUR.match(hour)):
        return BAD_PARTITION_KEYS, "metadata.partitionKeys must have dt (YYYY-MM-DD) and hour (HH)"
    return Transformed(record, data, (dt, hour))


# --- Record format conversion ------------------------------------------------------------------

_CHECKS: dict[pa.DataType, Callable[[Any], bool]] = {
    pa.string(): lambda v: type(v) is str,
    pa.int32(): lambda v: type(v) is int and -(2**31) <= v < 2**31,
    pa.int64(): lambda v: type(v) is int and -(2**63) <= v < 2**63,
    pa.float64(): lambda v: type(v) in (int, float),
}


def conversion_error(doc: Any) -> str | None:
    """Why a transformed record does not fit RAW_SCHEMA, or None if it does (columns exact, no nulls)."""
    if not isinstance(doc, dict):
        return "the record is not a JSON object"
    if set(doc) != set(RAW_SCHEMA.names):
        missing = sorted(set(RAW_SCHEMA.names) - set(doc))
        extra = sorted(set(doc) - set(RAW_SCHEMA.names))
        return f"columns differ from the schema: missing {missing}, unknown {extra}"[:300]
    for column in RAW_SCHEMA:
        if not _CHECKS[column.type](doc[column.name]):
            return f"{column.name}: {doc[column.name]!r} is not {column.type}"[:300]
    return None


def convert(transformed: list[Transformed]) -> tuple[dict[tuple[str, str], list[dict[str, Any]]], list[Failed]]:
    """Rows grouped by partition, and the records that cannot be converted."""
    rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
    failed: list[Failed] = []
    for t in transformed:
        try:
            doc = json.loads(t.data)
        except ValueError:
            doc = None
        error = conversion_error(doc)
        if error is None:
            rows.setdefault(t.partition, []).append(doc)
        else:
            failed.append(Failed(t.record, CONVERSION_FAILED, error, 1, _now_ms()))
    return rows, failed


# --- Objects ----------------------------------------------------------------------------------


def object_name(stream_name: str, when: datetime, extension: str = "") -> str:
    """``<name>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>``, as Firehose names objects (UTC)."""
    return f"{stream_name}-{VERSION}-{when.astimezone(UTC):%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{extension}"


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` under a hidden temporary name in its directory, fsync, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    table = pa.Table.from_pylist(rows, schema=RAW_SCHEMA)
    atomic_write(path, lambda f: pq.write_table(table, f, compression="snappy"))


def write_json_lines(docs: list[dict[str, Any]], path: Path) -> None:
    body = b"".join(json.dumps(doc, separators=(",", ":")).encode() + b"\n" for doc in docs)
    atomic_write(path, lambda f: f.write(body))


# --- Checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checkpoint:
    sequence_number: str | None  # the last record delivered
    finished: bool = False  # a closed shard read to its end and delivered

    def to_json(self) -> dict[str, Any]:
        return {"sequenceNumber": self.sequence_number, "finished": self.finished}


class CheckpointStore:
    """Per-shard checkpoints of one source stream, in one JSON file replaced atomically."""

    def __init__(self, path: Path, source_stream_arn: str) -> None:
        self.path = path
        self.source_stream_arn = source_stream_arn

    def load(self) -> dict[str, Checkpoint]:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        if doc["sourceKinesisStreamArn"] != self.source_stream_arn:
            raise StackError(
                f"{self.path} holds checkpoints of {doc['sourceKinesisStreamArn']}, not of {self.source_stream_arn}: "
                "give this delivery stream another name"
            )
        return {shard: Checkpoint(cp["sequenceNumber"], cp["finished"]) for shard, cp in doc["shards"].items()}

    def save(self, checkpoints: dict[str, Checkpoint]) -> None:
        doc = {
            "sourceKinesisStreamArn": self.source_stream_arn,
            "shards": {shard: cp.to_json() for shard, cp in checkpoints.items()},
        }
        atomic_write(self.path, lambda f: f.write(json.dumps(doc, indent=1).encode()))


# --- The delivery stream ----------------------------------------------------------------------


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


class DeliveryStream:
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
    ) -> None:
        if lake.local_root() is None:
            raise StackError("the local Firehose writes to the local lake: set ALLEYCAT_S3_ROOT (eval $(alleycat env))")
        self.settings = settings
        self.name = name
        self.buffer_seconds = buffer_seconds
        self.buffer_bytes = int(buffer_mb * MIB)
        self.handler = handler
        self.invocation_bytes = int(invocation_mb * MIB)
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self.layout = LakeLayout(settings.lake_uri)
        self.kinesis = aws.client("kinesis", settings.region)
        self.arns = self._arns()
        self.store = CheckpointStore(settings.home / "firehose" / name / "checkpoints.json", self.arns.source_stream)
        self.checkpoints = self.store.load()
        self._iterators: dict[str, str] = {}
        self._read_to: dict[str, str] = {}  # shard -> last sequence number read (buffered or delivered)
        self._ended: set[str] = set()  # closed shards read to their end
        self._behind: dict[str, int] = {}
        self._buffer: list[KinesisRecord] = []
        self._buffer_size = 0
        self._buffer_since = 0.0
        self._files = self._delivered = self._failed = self._dropped = 0
        self._last_delivery: datetime | None = None

    def _arns(self) -> Arns:
        stream_arn = self.kinesis.describe_stream_summary(StreamName=self.settings.stream)["StreamDescriptionSummary"][
            "StreamARN"
        ]
        account = stream_arn.split(":")[4]
        region = self.settings.region
        return Arns(
            source_stream=stream_arn,
            delivery_stream=f"arn:aws:firehose:{region}:{account}:deliverystream/{self.name}",
            function=f"arn:aws:lambda:{region}:{account}:function:{FUNCTION_NAME}",
            region=region,
        )

    # reading

    def _checkpoint(self, shard_id: str) -> Checkpoint:
        return self.checkpoints.get(shard_id, Checkpoint(None))

    def _shards(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"StreamName": self.settings.stream}
        while True:
            page = self.kinesis.list_shards(**kwargs)
            shards.extend(page["Shards"])
            if not page.get("NextToken"):
                return shards
            kwargs = {"NextToken": page["NextToken"]}

    def _readable(self) -> list[str]:
        """Shards to read now: not finished, and every parent still listed already delivered to its end."""
        shards = self._shards()
        listed = {s["ShardId"] for s in shards}
        readable = []
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self._ended or self._checkpoint(shard_id).finished:
                continue
            parents = [shard.get("ParentShardId"), shard.get("AdjacentParentShardId")]
            if all(p is None or p not in listed or self._checkpoint(p).finished for p in parents):
                readable.append(shard_id)
        return readable

    def _iterator(self, shard_id: str) -> str:
        after = self._read_to.get(shard_id) or self._checkpoint(shard_id).sequence_number
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": after}
            if after
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        return self.kinesis.get_shard_iterator(StreamName=self.settings.stream, ShardId=shard_id, **position)[
            "ShardIterator"
        ]

    def _read(self, shard_id: str) -> int:
        iterator = self._iterators.get(shard_id) or self._iterator(shard_id)
        try:
            page = self.kinesis.get_records(ShardIterator=iterator, Limit=10_000)
        except self.kinesis.exceptions.ExpiredIteratorException:
            self._iterators.pop(shard_id, None)
            return 0
        for r in page["Records"]:
            self._append(
                KinesisRecord(
                    data=r["Data"],
                    shard_id=shard_id,
                    sequence_number=r["SequenceNumber"],
                    partition_key=r["PartitionKey"],
                    arrival_ms=int(r["ApproximateArrivalTimestamp"].timestamp() * 1000),
                )
            )
        if page["Records"]:
            self._read_to[shard_id] = page["Records"][-1]["SequenceNumber"]
        self._behind[shard_id] = int(page.get("MillisBehindLatest", 0))
        if page.get("NextShardIterator"):
            self._iterators[shard_id] = page["NextShardIterator"]
        else:
            self._iterators.pop(shard_id, None)
            self._ended.add(shard_id)
        return len(page["Records"])

    def _append(self, record: KinesisRecord) -> None:
        if not self._buffer:
            self._buffer_since = time.monotonic()
        self._buffer.append(record)
        self._buffer_size += len(record.data)

    # the public interface

    def poll_once(self) -> int:
        """Read every readable shard once; deliver if the buffer is full or old enough. Returns records read."""
        read = sum(self._read(shard_id) for shard_id in self._readable())
        full = self._buffer_size >= self.buffer_bytes
        due = bool(self._buffer) and time.monotonic() - self._buffer_since >= self.buffer_seconds
        shard_ended = not self._buffer and self._advanced() != self.checkpoints
        if full or due or shard_ended:
            self.flush()
        return read

    def flush(self) -> None:
        """Deliver everything buffered, then advance and persist the checkpoints."""
        if self._buffer:
            self._deliver(self._buffer)
            self._buffer, self._buffer_size = [], 0
        advanced = self._advanced()
        if advanced != self.checkpoints:
            self.store.save(advanced)
            self.checkpoints = advanced

    def run(self, stop: threading.Event) -> None:
        """Deliver until ``stop`` is set, then flush and checkpoint."""
        log.info("delivery stream started", extra={"deliveryStream": self.name, "stream": self.settings.stream})
        while not stop.is_set():
            try:
                read = self.poll_once()
            except Exception:
                log.exception("delivery failed; retrying", extra={"deliveryStream": self.name})
                read = 0
            stop.wait(POLL_INTERVAL_S if read else IDLE_WAIT_S)
        self.flush()
        status = asdict(self.status())
        status.pop("name")  # a reserved LogRecord attribute; deliveryStream says it
        log.info("delivery stream stopped", extra={"deliveryStream": self.name, **status})

    def status(self) -> DeliveryStatus:
        buffer = self._buffer
        oldest = min((r.arrival_ms for r in buffer), default=None)
        return DeliveryStatus(
            name=self.name,
            files_written=self._files,
            records_delivered=self._delivered,
            records_failed=self._failed,
            records_dropped=self._dropped,
            last_delivery=self._last_delivery,
            buffered_records=len(buffer),
            checkpoint_lag_s=0.0 if oldest is None else max(0.0, time.time() - oldest / 1000),
            millis_behind_latest=max(self._behind.values(), default=0),
        )

    # delivery

    def _advanced(self) -> dict[str, Checkpoint]:
        """The checkpoints once everything read so far is delivered."""
        advanced = dict(self.checkpoints)
        for shard_id, seq in self._read_to.items():
            advanced[shard_id] = Checkpoint(seq)
        for shard_id in self._ended:
            advanced[shard_id] = Checkpoint(advanced.get(shard_id, Checkpoint(None)).sequence_number, True)
        return advanced

    def _deliver(self, records: list[KinesisRecord]) -> None:
        outcome = Outcome()
        for batch in invocations(records, self.invocation_bytes):
            part = invoke(self.handler, batch, self.arns, self.retries, self.retry_backoff_s)
            outcome.transformed += part.transformed
            outcome.failed += part.failed
            outcome.dropped += part.dropped
        rows, unconvertible = convert(outcome.transformed)
        failed = outcome.failed + unconvertible
        now = datetime.now(UTC)
        for (dt, hour), part_rows in sorted(rows.items()):
            uri = lake.join(self.layout.raw, f"dt={dt}", f"hour={hour}", object_name(self.name, now, ".parquet"))
            write_parquet(part_rows, Path(lake.resolve(uri)))
        if failed:
            oldest = datetime.fromtimestamp(min(f.record.arrival_ms for f in failed) / 1000, UTC)
            uri = lake.join(self.layout.processing_failed, f"{oldest:%Y/%m/%d/%H}", object_name(self.name, now))
            write_json_lines([f.error_record(self.arns.function) for f in failed], Path(lake.resolve(uri)))
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


def _now_ms() -> int:
    return int(time.time() * 1000)
