"""The Firehose transform Lambda: telemetry JSON -> one raw-table row (RAW_SCHEMA columns) per record.

Each record is decoded and validated (``parse_event``); a valid event becomes a JSON object with
the raw table's snake_case columns, its ``output`` and its Kinesis arrival metadata, newline
terminated, with the dynamic-partitioning keys ``{dt, hour}`` (UTC, from deviceTimestamp). An
invalid event is answered ``ProcessingFailed`` with its original data, so Firehose writes it under
the processing-failed prefix; its InvalidEvent reason goes to the log. Nothing is ``Dropped``.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

from alleycat.domain.events import InvalidEvent, parse_event
from alleycat.lake.schema import raw_partition, raw_row

log = logging.getLogger("alleycat.firehose_transform")

OK = "Ok"
DROPPED = "Dropped"
PROCESSING_FAILED = "ProcessingFailed"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record of a Firehose transformation event (Kinesis stream as source)."""

    record_id: str
    data: bytes
    arrival_timestamp: int  # epoch ms
    shard_id: str
    sequence_number: str

    @classmethod
    def from_event(cls, record: dict[str, Any]) -> SourceRecord:
        kinesis = record["kinesisRecordMetadata"]
        return cls(
            record_id=record["recordId"],
            data=base64.b64decode(record["data"]),
            arrival_timestamp=int(kinesis["approximateArrivalTimestamp"]),
            shard_id=kinesis["shardId"],
            sequence_number=kinesis["sequenceNumber"],
        )


def transform(source: SourceRecord) -> dict[str, Any]:
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
        return {
            "recordId": source.record_id,
            "result": PROCESSING_FAILED,
            "data": base64.b64encode(source.data).decode(),
        }
    row = raw_row(ev, source.arrival_timestamp, source.shard_id, source.sequence_number)
    line = json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n"
    return {
        "recordId": source.record_id,
        "result": OK,
        "data": base64.b64encode(line.encode()).decode(),
        "metadata": {"partitionKeys": raw_partition(ev.device_timestamp)},
    }


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    records = [transform(SourceRecord.from_event(r)) for r in event["records"]]
    failed = sum(r["result"] == PROCESSING_FAILED for r in records)
    log.info(
        "transformed",
        extra={"invocationId": event["invocationId"], "records": len(records), "processingFailed": failed},
    )
    return {"records": records}
