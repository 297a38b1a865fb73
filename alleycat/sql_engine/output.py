"""Printing a result: an aligned text table, CSV (header row) or JSON (one array of objects)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from typing import Any

import pyarrow as pa

FORMATS = ("table", "csv", "json")


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime, dt.time, decimal.Decimal)):
        return str(value) if not isinstance(value, dt.datetime) else value.isoformat(sep=" ")
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return value


def _rows(table: pa.Table) -> list[list[Any]]:
    columns = [_pylist(col) for col in table.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def _pylist(column: pa.ChunkedArray) -> list[Any]:
    """Python values; maps become dicts (pyarrow gives them as lists of pairs)."""
    values = column.to_pylist()
    if pa.types.is_map(column.type):
        return [None if v is None else dict(v) for v in values]
    return values


def render(table: pa.Table, fmt: str) -> str:
    names = table.column_names
    rows = _rows(table)
    if fmt == "json":
        return json.dumps([{n: _json_value(v) for n, v in zip(names, row, strict=True)} for row in rows], indent=1)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([["" if v is None else _text(v) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [names, *[[_text(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(names))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
