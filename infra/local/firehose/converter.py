"""Record format conversion: transformed records to rows of RAW_SCHEMA, or why one does not fit.

Firehose converts JSON to Parquet with the Glue table's schema; a record that does not fit is an
error record (``DataFormatConversion.InvalidRecord``, a local name). Columns must match exactly,
with no nulls and no lossy coercion (an int32 column takes no 2**40, a string no number).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from alleycat.lake.schema import RAW_SCHEMA
from alleycat.support.clock import now_ms
from infra.local.firehose.records import Failed, Transformed

CONVERSION_FAILED = "DataFormatConversion.InvalidRecord"

Rows = dict[tuple[str, str], list[dict[str, Any]]]  # partition (dt, hour) -> rows

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


def convert(transformed: list[Transformed]) -> tuple[Rows, list[Failed]]:
    """Rows grouped by partition, and the records that cannot be converted."""
    rows: Rows = {}
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
            failed.append(Failed(t.record, CONVERSION_FAILED, error, 1, now_ms()))
    return rows, failed
