"""A query's result and its printing: an aligned text table, CSV (header row) or JSON (one array of
objects). Rows are plain Python values (no pyarrow: ``alleycat sql`` starts fast)."""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
from dataclasses import dataclass
from typing import Any

from alleycat.support import escape

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Result:
    """Column names and rows (one tuple of Python values per row, in column order)."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def to_pylist(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    @property
    def num_rows(self) -> int:
        return len(self.rows)


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


def render(result: Result, fmt: str) -> str:
    names = result.columns
    rows = result.rows
    if fmt == "json":
        return json.dumps([{n: _json_value(v) for n, v in zip(names, row, strict=True)} for row in rows], indent=1)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(names)
        writer.writerows([["" if v is None else escape.csv_cell(_text(v)) for v in row] for row in rows])
        return buffer.getvalue().rstrip("\n")
    cells = [names, *[[escape.terminal(_text(v)) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(names))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)
