"""The raw table's schema: one definition for Firehose's Parquet conversion (locally: pyarrow),
the Glue table the AWS template declares, and the Athena DDL in sql/ddl.

Columns are snake_case (Athena/Glue convention); ``dt`` and ``hour`` are partition columns,
strings as in Glue (``dt=YYYY-MM-DD/hour=HH``, UTC, from the event's deviceTimestamp).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from alleycat.domain.events import Telemetry

# (name, Glue/Athena type, pyarrow type, comment)
RAW_COLUMNS: tuple[tuple[str, str, pa.DataType, str], ...] = (
    ("uuid", "string", pa.string(), "message id (a retried message keeps it)"),
    ("event", "string", pa.string(), "update | final"),
    ("device_timestamp", "bigint", pa.int64(), "epoch ms on the bike"),
    ("second", "int", pa.int32(), "1..300 in a 300 s race"),
    ("race_id", "bigint", pa.int64(), "floor(start_ms / 300000)"),
    ("name", "string", pa.string(), "racer's display name (personal data)"),
    ("racer_id", "int", pa.int32(), ""),
    ("class_id", "int", pa.int32(), "1..6"),
    ("cadence", "double", pa.float64(), "rpm"),
    ("resistance", "double", pa.float64(), "percent"),
    ("output", "double", pa.float64(), "((cadence + 35) * (resistance + 65)) / 100"),
    ("arrival_timestamp", "bigint", pa.int64(), "Kinesis (or MSK) approximateArrivalTimestamp, epoch ms"),
    ("shard_id", "string", pa.string(), "Kinesis shard, or Kafka partition (MSK source)"),
    ("sequence_number", "string", pa.string(), "Kinesis sequence number, or Kafka offset (MSK source)"),
)
RAW_PARTITIONS: tuple[tuple[str, str], ...] = (("dt", "string"), ("hour", "string"))

RAW_SCHEMA = pa.schema([pa.field(name, typ, nullable=False) for name, _, typ, _ in RAW_COLUMNS])


def glue_columns() -> list[dict[str, str]]:
    """Columns as the Glue Data Catalog (and the CloudFormation AWS::Glue::Table) declares them."""
    return [{"Name": name, "Type": glue, "Comment": comment} for name, glue, _, comment in RAW_COLUMNS]


def raw_partition(device_timestamp: int) -> dict[str, str]:
    """The partition of an event: ``{"dt": "YYYY-MM-DD", "hour": "HH"}``, UTC, from deviceTimestamp (ms)."""
    when = datetime.fromtimestamp(device_timestamp // 1000, tz=UTC)
    return {"dt": when.strftime("%Y-%m-%d"), "hour": when.strftime("%H")}


def raw_row(ev: Telemetry, arrival_timestamp: int, shard_id: str, sequence_number: str) -> dict[str, Any]:
    """The raw table's row (RAW_SCHEMA column names) for a valid event and its arrival (Kinesis or MSK)."""
    return {
        "uuid": ev.uuid,
        "event": ev.event,
        "device_timestamp": ev.device_timestamp,
        "second": ev.second,
        "race_id": ev.race_id,
        "name": ev.name,
        "racer_id": ev.racer_id,
        "class_id": ev.class_id,
        "cadence": ev.cadence,
        "resistance": ev.resistance,
        "output": ev.output,
        "arrival_timestamp": arrival_timestamp,
        "shard_id": shard_id,
        "sequence_number": sequence_number,
    }
