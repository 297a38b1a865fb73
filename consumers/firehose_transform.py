"""The Firehose transform Lambda: telemetry JSON -> one raw-table row (RAW_SCHEMA columns) per record.

Each record is decoded and validated (``parse_event``); a valid event becomes a JSON object with
the raw table's snake_case columns, its ``output`` and its Kinesis arrival metadata, newline
terminated, with the dynamic-partitioning keys ``{dt, hour}`` (UTC, from deviceTimestamp). An
invalid event is answered ``ProcessingFailed`` with its original data, so Firehose writes it under
the processing-failed prefix; its InvalidEvent reason goes to the log. Nothing is ``Dropped``.

The event and the answer are Powertools' Firehose data classes (``KinesisFirehoseEvent`` in,
``KinesisFirehoseDataTransformationResponse`` out).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Final

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


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record of a Firehose transformation event (Kinesis stream as source)."""

    record_id: str
    data: bytes
    arrival_timestamp: int  # epoch ms
    shard_id: str
    sequence_number: str

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
    """One answer per record, in the event's order, with the same recordId."""
    response = KinesisFirehoseDataTransformationResponse()
    for record in event.records:
        response.add_record(transform(SourceRecord.from_event(record)))
    failed = sum(r.result == PROCESSING_FAILED for r in response.records)
    log.info(
        "transformed",
        extra={"invocationId": event.invocation_id, "records": len(response.records), "processingFailed": failed},
    )
    # Firehose never invokes with no records; Powertools refuses to build an empty answer
    answer = response.asdict() if response.records else {"records": []}
    return Handled(answer, {"RecordsTransformed": len(response.records), "RecordsProcessingFailed": failed})


handler = OBSERVABILITY.entry(lambda event, context: handle(KinesisFirehoseEvent(event)))
