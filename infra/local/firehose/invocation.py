"""Invoking the transform Lambda the way Firehose does, and judging its answer record by record.

The transform is called in-process with Firehose's transformation event for the source: a Kinesis
stream's (``sourceKinesisStreamArn``, ``data``, ``kinesisRecordMetadata``) or an Amazon MSK
topic's (``sourceMSKArn``, ``kafkaRecordValue``, ``mskRecordMetadata`` with ``partitionId`` and
``offset``; the answer's data is ``kafkaRecordValue`` too). An invocation that raises is retried
(``INVOKE_RETRIES``, as Firehose's default); once they are used up every record fails with
``Lambda.FunctionError``. A response is checked record by
record: each input recordId must come back exactly once with a known result, Ok records with base64
data (``data``, or ``kafkaRecordValue`` for MSK) and ``metadata.partitionKeys`` (dt, hour).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alleycat.support.clock import now_ms
from consumers import firehose_transform
from infra.local.firehose.records import Failed, KafkaRecord, KinesisRecord, Outcome, SourceRecord, Transformed

log = logging.getLogger("alleycat.firehose")

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

INVOCATION_MB = 3.0  # ProcessingConfiguration BufferSizeInMBs: the most data one invocation receives
INVOKE_RETRIES = 3  # Firehose retries a failed Lambda invocation three times by default

# errorCode / errorMessage of the error records. FunctionError, MissingRecordId, DuplicatedRecordId and
# JsonProcessingException are the service's codes; the other two here are local names (docs/design.md).
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

_DT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HOUR = re.compile(r"^\d{2}$")


@dataclass(frozen=True, slots=True)
class Arns:
    """The identities the event names: the source (a Kinesis stream or an MSK cluster), the delivery
    stream, the function."""

    source: str
    delivery_stream: str
    function: str
    region: str

    @property
    def msk(self) -> bool:
        return self.source.split(":")[2] == "kafka"

    @property
    def value_key(self) -> str:
        """Where a record's data is, in the event and in the answer."""
        return "kafkaRecordValue" if self.msk else "data"


def invocations(records: Sequence[SourceRecord], max_bytes: int) -> list[list[SourceRecord]]:
    """Split records into invocations of at most ``max_bytes`` of data (at least one record each)."""
    batches: list[list[SourceRecord]] = []
    size = 0
    for record in records:
        if not batches or (size + len(record.data) > max_bytes and batches[-1]):
            batches.append([])
            size = 0
        batches[-1].append(record)
        size += len(record.data)
    return batches


def event_of(records: Mapping[str, SourceRecord], arns: Arns) -> dict[str, Any]:
    """The transformation event Firehose sends for the delivery stream's source."""
    if arns.msk:
        return {
            "invocationId": str(uuid.uuid4()),
            "sourceMSKArn": arns.source,
            "deliveryStreamArn": arns.delivery_stream,
            "region": arns.region,
            "records": [_msk_record(record_id, r) for record_id, r in records.items()],
        }
    return {
        "invocationId": str(uuid.uuid4()),
        "sourceKinesisStreamArn": arns.source,
        "deliveryStreamArn": arns.delivery_stream,
        "region": arns.region,
        "records": [_kinesis_record(record_id, r) for record_id, r in records.items()],
    }


def _kinesis_record(record_id: str, r: SourceRecord) -> dict[str, Any]:
    if not isinstance(r, KinesisRecord):
        raise TypeError(f"a Kinesis source's event cannot carry {type(r).__name__}")
    return {
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


def _msk_record(record_id: str, r: SourceRecord) -> dict[str, Any]:
    if not isinstance(r, KafkaRecord):
        raise TypeError(f"an MSK source's event cannot carry {type(r).__name__}")
    return {
        "recordId": record_id,
        "approximateArrivalTimestamp": r.arrival_ms,
        # as AWS sends them: offset and partition as strings
        "mskRecordMetadata": {
            "offset": str(r.offset),
            "partitionId": str(r.partition),
            "approximateArrivalTimestamp": r.arrival_ms,
        },
        "kafkaRecordValue": base64.b64encode(r.data).decode(),
    }


def invoke(
    handler: Handler, records: Sequence[SourceRecord], arns: Arns, retries: int = INVOKE_RETRIES, backoff_s: float = 0.5
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
        now = now_ms()
        return Outcome(failed=[Failed(r, *FUNCTION_ERROR, attempt, now) for r in records])
    return judge(response, by_id, attempt, now_ms(), arns.value_key)


def judge(
    response: Any, records: Mapping[str, SourceRecord], attempts: int, now_ms: int, value_key: str = "data"
) -> Outcome:
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
        if not isinstance(record_id, str) or record_id not in records:
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
            judged = _ok(record, answer, value_key)
            if isinstance(judged, Transformed):
                outcome.transformed.append(judged)
            else:
                outcome.failed.append(Failed(record, *judged, attempts, now_ms))
        else:
            message = f"result {str(answer.get('result'))[:40]!r} is not Ok, Dropped or ProcessingFailed"
            outcome.failed.append(Failed(record, BAD_RESPONSE, message, attempts, now_ms))
    return outcome


def _ok(record: SourceRecord, answer: dict[str, Any], value_key: str) -> Transformed | tuple[str, str]:
    """An Ok answer as a Transformed record, or the (errorCode, errorMessage) it fails with."""
    try:
        data = base64.b64decode(answer[value_key], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return BAD_RESPONSE, f"{value_key} is missing or not base64"
    metadata = answer.get("metadata")
    keys = metadata.get("partitionKeys") if isinstance(metadata, dict) else None
    dt = keys.get("dt") if isinstance(keys, dict) else None
    hour = keys.get("hour") if isinstance(keys, dict) else None
    if not (isinstance(dt, str) and _DT.match(dt) and isinstance(hour, str) and _HOUR.match(hour)):
        return BAD_PARTITION_KEYS, "metadata.partitionKeys must have dt (YYYY-MM-DD) and hour (HH)"
    return Transformed(record, data, (dt, hour))
