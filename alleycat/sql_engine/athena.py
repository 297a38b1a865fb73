"""Running a query on Amazon Athena (boto3): start it, poll it with progress on stderr, page its rows.

Parameters go as Athena ExecutionParameters (``?`` in the text, typed literals as values, see
``params.positional``). Rows come back as text; they are typed by the result's column metadata
so every output format prints what the local engine prints.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from alleycat.adapters import aws
from alleycat.resources import GLUE_DATABASE
from alleycat.sql_engine import SqlError
from alleycat.sql_engine.output import Result

log = logging.getLogger(__name__)

DONE = ("SUCCEEDED", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class AthenaSettings:
    """Where a query runs on Athena; the CLI builds it from ``Settings`` (athena_workgroup, athena_output)."""

    workgroup: str
    output_location: str | None  # None: the workgroup's configured result location
    database: str = GLUE_DATABASE
    poll_seconds: float = 1.0


def _integer(text: str) -> int:
    return int(text)


def _boolean(text: str) -> bool:
    return text == "true"


def _timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.removesuffix(" UTC"))


# Athena result type -> the parser of its text
_TYPES: dict[str, Callable[[str], Any]] = {
    "tinyint": _integer,
    "smallint": _integer,
    "integer": _integer,
    "bigint": _integer,
    "real": float,
    "float": float,
    "double": float,
    "boolean": _boolean,
    "date": dt.date.fromisoformat,
    "timestamp": _timestamp,
    "timestamp with time zone": _timestamp,
    "decimal": decimal.Decimal,
}


def _column(info: dict[str, Any], texts: list[str | None]) -> list[Any]:
    parse = _TYPES.get(info["Type"].lower(), str)  # varchar, char, array, map, row, json: as text
    return [None if t is None else parse(t) for t in texts]


def run(sql: str, execution_parameters: list[str], settings: AthenaSettings, progress: TextIO = sys.stderr) -> Result:
    """Run one statement on Athena and return its rows."""
    athena = aws.client("athena")
    request: dict[str, Any] = {
        "QueryString": sql,
        "QueryExecutionContext": {"Database": settings.database},
        "WorkGroup": settings.workgroup,
    }
    if settings.output_location:
        request["ResultConfiguration"] = {"OutputLocation": settings.output_location}
    if execution_parameters:
        request["ExecutionParameters"] = execution_parameters
    query_id = athena.start_query_execution(**request)["QueryExecutionId"]
    log.info("athena query started", extra={"queryExecutionId": query_id, "workGroup": settings.workgroup})
    started = time.monotonic()
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        state = execution["Status"]["State"]
        scanned = execution.get("Statistics", {}).get("DataScannedInBytes", 0)
        elapsed = time.monotonic() - started
        print(f"athena {query_id}: {state} ({elapsed:.0f} s, {scanned} bytes scanned)", file=progress)
        if state in DONE:
            break
        time.sleep(settings.poll_seconds)
    if state != "SUCCEEDED":
        reason = execution["Status"].get("StateChangeReason", "no reason given")
        raise SqlError(f"athena query {query_id} {state}: {reason}")
    return _results(athena, query_id)


def _results(athena: Any, query_id: str) -> Result:
    columns: list[dict[str, Any]] = []
    rows: list[list[str | None]] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result = page["ResultSet"]
        page_rows = [[d.get("VarCharValue") for d in row["Data"]] for row in result["Rows"]]
        if not columns:
            columns = result["ResultSetMetadata"]["ColumnInfo"]
            page_rows = page_rows[1:]  # a SELECT's first row repeats the column names
        rows += page_rows
    values = [_column(info, [row[i] for row in rows]) for i, info in enumerate(columns)]
    return Result([info["Name"] for info in columns], list(zip(*values, strict=True)) if values else [])
