"""The tables SQL can read: the lake catalog (``alleycat.lake.catalog``: the raw table and the three
Hudi tables) plus Firehose's processing-failed records, which only SQL reads.

Firehose writes a record it could not deliver (the transform rejected it, or it could not be
converted to Parquet) as one JSON document per line under ``LakeLayout.processing_failed``, the
original bytes base64-encoded in ``rawData``. Those records are the lake's malformed messages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from alleycat.lake.catalog import CatalogTable, Column, tables
from alleycat.lake.location import Lake
from alleycat.resources import GLUE_DATABASE

PROCESSING_FAILED_TABLE = "processing_failed"

# Hudi writes these in front of every row; Athena and hudi-rs expose them.
HUDI_META_COLUMNS = tuple(
    Column(name, "string")
    for name in (
        "_hoodie_commit_time",
        "_hoodie_commit_seqno",
        "_hoodie_record_key",
        "_hoodie_partition_path",
        "_hoodie_file_name",
    )
)


@dataclass(frozen=True)
class JsonColumn:
    name: str
    type: str  # Glue/Athena type
    source: str  # the JSON key
    comment: str = ""


@dataclass(frozen=True)
class JsonTable:
    """A table of JSON lines (no partitions)."""

    name: str
    database: str
    location: str
    columns: tuple[JsonColumn, ...]
    description: str = ""
    format: Literal["json"] = "json"
    partition_keys: tuple[str, ...] = ()


Table = CatalogTable | JsonTable


def processing_failed(lake: Lake) -> JsonTable:
    return JsonTable(
        name=PROCESSING_FAILED_TABLE,
        database=GLUE_DATABASE,
        location=lake.layout.processing_failed,
        columns=(
            JsonColumn("attempts_made", "int", "attemptsMade"),
            JsonColumn("arrival_timestamp", "bigint", "arrivalTimestamp", "Kinesis arrival, epoch ms"),
            JsonColumn("error_code", "string", "errorCode", "e.g. Lambda.ProcessingFailed"),
            JsonColumn("error_message", "string", "errorMessage"),
            JsonColumn("attempt_ending_timestamp", "bigint", "attemptEndingTimestamp", "epoch ms"),
            JsonColumn("raw_data", "string", "rawData", "the original record, base64"),
            JsonColumn("lambda_arn", "string", "lambdaArn"),
        ),
        description="records Firehose could not deliver: the malformed messages",
    )


def lake_tables(lake: Lake) -> list[Table]:
    """Every table SQL can name, with its columns as queries see them (Hudi meta columns first)."""
    result: list[Table] = []
    for table in tables(lake):
        if table.format == "hudi":
            table = replace(table, columns=(*HUDI_META_COLUMNS, *table.columns))
        result.append(table)
    return [*result, processing_failed(lake)]
