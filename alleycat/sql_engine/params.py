"""Query parameters: declared in the file's header, written ``:name`` in the SQL, passed as text.

A query declares each parameter on a header line::

    -- param: race_id bigint  the race to show

and uses it as ``:race_id``. Values are parsed by their declared type and substituted as typed SQL
literals (an integer's digits, ``DATE '2024-05-01'``, a quoted string with quotes doubled), so a
value can never change the statement's shape. Placeholders are found with the Trino tokenizer,
so ``':race_id'`` inside a string literal or a comment is left alone.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from alleycat.sql_engine import SqlError

_PARAM_LINE = re.compile(r"^--\s*param:\s*(?P<name>[a-z_][a-z0-9_]*)\s+(?P<type>[a-z]+)\s*(?P<doc>.*)$")
_INTEGER_RANGES = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}
TYPES = ("integer", "bigint", "double", "varchar", "date", "timestamp", "boolean")


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # one of TYPES
    doc: str = ""


@dataclass(frozen=True)
class Query:
    """A library query: its SQL text, header description and declared parameters."""

    sql: str
    description: str
    params: tuple[Param, ...]

    @classmethod
    def from_text(cls, sql: str) -> Query:
        params: list[Param] = []
        description: list[str] = []
        for line in sql.splitlines():
            line = line.strip()
            if not line.startswith("--"):
                if line:
                    break  # the header ends at the first SQL line
                continue
            match = _PARAM_LINE.match(line)
            if match is None:
                description.append(line.removeprefix("--").strip())
                continue
            if match["type"] not in TYPES:
                raise SqlError(f"parameter {match['name']}: unknown type {match['type']!r} (one of {', '.join(TYPES)})")
            params.append(Param(match["name"], match["type"], match["doc"].strip()))
        return cls(sql=sql, description=" ".join(d for d in description if d), params=tuple(params))

    @classmethod
    def from_file(cls, path: Path) -> Query:
        return cls.from_text(path.read_text())


def literal(param: Param, value: str) -> str:
    """``value`` as a Trino literal of the parameter's type; SqlError if it is not one."""
    try:
        if param.type in _INTEGER_RANGES:
            if not re.fullmatch(r"-?\d+", value.strip()):
                raise ValueError("not a whole number")
            number = int(value)
            lo, hi = _INTEGER_RANGES[param.type]
            if not lo <= number <= hi:
                raise ValueError(f"outside the {param.type} range")
            return str(number)
        if param.type == "double":
            real = float(value)
            if not math.isfinite(real):
                raise ValueError("not finite")
            text = repr(real).upper()
            return text if "E" in text else text + "E0"  # an exponent makes it a DOUBLE literal
        if param.type == "date":
            return f"DATE '{dt.date.fromisoformat(value).isoformat()}'"
        if param.type == "timestamp":
            return f"TIMESTAMP '{dt.datetime.fromisoformat(value).isoformat(sep=' ', timespec='milliseconds')}'"
        if param.type == "boolean":
            if value.lower() not in ("true", "false"):
                raise ValueError("not true or false")
            return value.upper()
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return "'" + value.replace("'", "''") + "'"
    except ValueError as exc:
        raise SqlError(f"parameter {param.name} ({param.type}): {value!r} is not valid: {exc}") from None


def _placeholders(sql: str) -> list[tuple[int, int, str]]:
    """(start, end exclusive, name) of every ``:name`` in the SQL text, outside strings and comments."""
    if ":" not in sql:
        return []  # nothing to find; and the tokenizer (sqlglot) is not imported
    import sqlglot
    from sqlglot.tokens import TokenType

    tokens = sqlglot.Dialect.get_or_raise("trino").tokenize(sql)
    found = []
    for colon, name in itertools.pairwise(tokens):
        if colon.token_type == TokenType.COLON and name.start == colon.end + 1 and name.token_type == TokenType.VAR:
            found.append((colon.start, name.end + 1, name.text.lower()))
    return found


def _literals(query: Query, values: dict[str, str]) -> dict[str, str]:
    declared = {p.name: p for p in query.params}
    unknown = sorted(set(values) - set(declared))
    if unknown:
        names = ", ".join(declared) or "none"
        raise SqlError(f"unknown parameter(s) {', '.join(unknown)}; the query declares: {names}")
    missing = [name for name in declared if name not in values]
    if missing:
        raise SqlError(f"missing parameter(s): {', '.join(missing)} (pass --param name=value)")
    return {name: literal(declared[name], values[name]) for name in declared}


def _checked_placeholders(query: Query) -> list[tuple[int, int, str]]:
    found = _placeholders(query.sql)
    declared = {p.name for p in query.params}
    undeclared = sorted({name for _, _, name in found} - declared)
    if undeclared:
        raise SqlError(f"placeholder(s) {', '.join(':' + n for n in undeclared)} not declared in the header")
    return found


def substitute(query: Query, values: dict[str, str]) -> str:
    """The SQL text with every ``:name`` replaced by its typed literal."""
    literals = _literals(query, values)
    out, last = [], 0
    for start, end, name in _checked_placeholders(query):
        out += [query.sql[last:start], literals[name]]
        last = end
    return "".join([*out, query.sql[last:]])


def positional(query: Query, values: dict[str, str]) -> tuple[str, list[str]]:
    """The SQL text with ``?`` for each ``:name`` and the literals in order (Athena ExecutionParameters)."""
    literals = _literals(query, values)
    out, last, ordered = [], 0, []
    for start, end, name in _checked_placeholders(query):
        out += [query.sql[last:start], "?"]
        ordered.append(literals[name])
        last = end
    return "".join([*out, query.sql[last:]]), ordered


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["race_id=5", ...]`` (the ``--param`` options) as a dict."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise SqlError(f"--param {pair!r}: expected name=value")
        values[name.strip().lower()] = value
    return values
