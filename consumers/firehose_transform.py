"""The Firehose transform Lambda: telemetry JSON -> one raw-table row (RAW_SCHEMA columns) per record.

Each record is decoded and validated (``parse_event``); a valid event becomes a JSON object with
the raw table's snake_case columns, its ``output`` and its arrival metadata, newline terminated,
with the dynamic-partitioning keys ``{dt, hour}`` (UTC, from deviceTimestamp). An invalid event is
answered ``ProcessingFailed`` with its original data, so Firehose writes it under the
processing-failed prefix; its InvalidEvent reason goes to the log. Nothing is ``Dropped``.

Two sources, two shapes (the Firehose developer guide, "Required parameters for data
transformation"): a Kinesis stream's event (``sourceKinesisStreamArn``, each record's ``data`` and
``kinesisRecordMetadata``) is Powertools' ``KinesisFirehoseEvent``, answered with ``data``; an
Amazon MSK topic's event (``sourceMSKArn``, each record's ``kafkaRecordValue`` and
``mskRecordMetadata`` with ``partitionId`` and ``offset``), which Powertools has no class for, is
answered with ``kafkaRecordValue``. The raw row's ``shard_id`` and ``sequence_number`` then hold
the Kafka partition and offset.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Final

from aws_lambda_powertools.utilities.data_classes import KinesisFirehoseEvent
from aws_lambda_powertools.utilities.data_classes.kinesis_firehose_event import (
    KinesisFirehoseDataTransformationRecord,
    KinesisFirehoseDataTransformationRecordMetadata,
    KinesisFirehoseDataTransformationResponse,
    KinesisFirehoseRecord,
)

from alleycat.domain.events import InvalidEvent, parse_event
from alleycat.lake.schema import raw_partition, raw_row
from consumers.observability import Handled, Observability

OBSERVABILITY = Observability("firehose-transform")
log = OBSERVABILITY.logger

OK: Final = "Ok"
DROPPED: Final = "Dropped"  # never answered here; the local Firehose accepts it as AWS does
PROCESSING_FAILED: Final = "ProcessingFailed"
MSK_SOURCE: Final = "sourceMSKArn"  # the key that tells an MSK source's event from a Kinesis one


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record of a Firehose transformation event."""

    record_id: str
    data: bytes
    arrival_timestamp: int  # epoch ms
    shard_id: str  # the Kinesis shard, or the Kafka partition
    sequence_number: str  # the Kinesis sequence number, or the Kafka offset

    @classmethod
    def from_event(cls, record: KinesisFirehoseRecord) -> SourceRecord:
        kinesis = record.metadata
        if kinesis is None:
            raise ValueError(f"record {record.record_id}: no kinesisRecordMetadata (the source must be a stream)")
        return cls(
            record_id=record.record_id,
            data=record.data_as_bytes,
            arrival_timestamp=int(kinesis.approximate_arrival_timestamp),
            shard_id=kinesis.shard_id,
            sequence_number=kinesis.sequence_number,
        )

    @classmethod
    def from_msk(cls, record: dict[str, Any]) -> SourceRecord:
        msk = record.get("mskRecordMetadata")
        if not isinstance(msk, dict):
            raise ValueError(f"record {record.get('recordId')}: no mskRecordMetadata (the source must be MSK)")
        return cls(
            record_id=record["recordId"],
            data=base64.b64decode(record["kafkaRecordValue"]),
            arrival_timestamp=int(msk["approximateArrivalTimestamp"]),
            shard_id=str(msk["partitionId"]),
            sequence_number=str(msk["offset"]),
        )


def transform(source: SourceRecord) -> KinesisFirehoseDataTransformationRecord:
    """The Firehose result for one record."""
    try:
        ev = parse_event(source.data)
    except InvalidEvent as exc:
        log.warning(
            "invalid event",
            extra={
                "reason": exc.reason,
                "detail": exc.detail,
                "recordId": source.record_id,
                "shardId": source.shard_id,
                "sequenceNumber": source.sequence_number,
            },
        )
        return KinesisFirehoseDataTransformationRecord(
            record_id=source.record_id, result=PROCESSING_FAILED, data=base64.b64encode(source.data).decode()
        )
    row = raw_row(ev, source.arrival_timestamp, source.shard_id, source.sequence_number)
    line = json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n"
    return KinesisFirehoseDataTransformationRecord(
        record_id=source.record_id,
        result=OK,
        data=base64.b64encode(line.encode()).decode(),
        metadata=KinesisFirehoseDataTransformationRecordMetadata(partition_keys=raw_partition(ev.device_timestamp)),
    )


def handle(event: KinesisFirehoseEvent) -> Handled:
    """One answer per record, in the event's order, with the same recordId (a Kinesis source)."""
    return _answer([SourceRecord.from_event(r) for r in event.records], event.invocation_id, "data")


def handle_msk(event: dict[str, Any]) -> Handled:
    """The same for an MSK source: the value comes and goes as ``kafkaRecordValue``."""
    return _answer([SourceRecord.from_msk(r) for r in event["records"]], event["invocationId"], "kafkaRecordValue")


def handle_event(event: dict[str, Any]) -> Handled:
    return handle_msk(event) if MSK_SOURCE in event else handle(KinesisFirehoseEvent(event))


def _answer(records: list[SourceRecord], invocation_id: str, value_key: str) -> Handled:
    response = KinesisFirehoseDataTransformationResponse()
    for record in records:
        response.add_record(transform(record))
    failed = sum(r.result == PROCESSING_FAILED for r in response.records)
    log.info(
        "transformed",
        extra={"invocationId": invocation_id, "records": len(response.records), "processingFailed": failed},
    )
    # Firehose never invokes with no records; Powertools refuses to build an empty answer
    answer = response.asdict() if response.records else {"records": []}
    if value_key != "data":
        answer["records"] = [{value_key if k == "data" else k: v for k, v in r.items()} for r in answer["records"]]
    return Handled(answer, {"RecordsTransformed": len(response.records), "RecordsProcessingFailed": failed})


handler = OBSERVABILITY.entry(lambda event, context: handle_event(event))
