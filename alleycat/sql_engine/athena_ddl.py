"""Athena's Hive DDL statements, answered in Athena's layout.

Athena sends ``SHOW TABLES``, ``SHOW COLUMNS``, ``SHOW PARTITIONS``, ``SHOW CREATE TABLE`` and
``DESCRIBE`` to its Hive DDL engine, not to Trino, so their results have Hive's columns
(``tab_name``, ``field``, ``partition``, ``createtab_stmt``; ``DESCRIBE``'s col_name, data_type,
comment with a ``# Partition Information`` section) and Hive's type names (``string``, ``int``).
Trino would answer the same questions in its own layout (or, for ``SHOW PARTITIONS``, not at all).
Here the facts come from Trino's catalog (columns, partitions: what the local Glue Data Catalog
holds) and, for ``SHOW CREATE TABLE``, from the table definitions ``sql/ddl`` is rendered from.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from alleycat.lake.location import Lake
from alleycat.sql_engine import SqlError, ddl
from alleycat.sql_engine.output import Result
from alleycat.sql_engine.tables import lake_tables

if TYPE_CHECKING:
    from alleycat.sql_engine.local import TrinoSettings

_NAME = r"[`\"]?(?P<{0}>[A-Za-z_][A-Za-z0-9_]*)[`\"]?"
_TABLE = rf"(?:{_NAME.format('db')}\s*\.\s*)?{_NAME.format('table')}"
_SHOW_TABLES = re.compile(
    rf"SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+{_NAME.format('db')})?(?:\s+(?:LIKE\s+)?'(?P<pattern>[^']*)')?\s*$", re.I
)
_SHOW_COLUMNS = re.compile(
    rf"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_TABLE}(?:\s+(?:IN|FROM)\s+{_NAME.format('db2')})?\s*$", re.I
)
_SHOW_PARTITIONS = re.compile(rf"SHOW\s+PARTITIONS\s+{_TABLE}\s*$", re.I)
_SHOW_CREATE = re.compile(rf"SHOW\s+CREATE\s+TABLE\s+{_TABLE}\s*$", re.I)
_DESCRIBE = re.compile(rf"DESC(?:RIBE)?\s+(?!TABLE\b)(?:(?:EXTENDED|FORMATTED)\s+)?{_TABLE}\s*$", re.I)

# Trino's type names -> Hive's, as Athena's DDL engine prints them
_HIVE_TYPES = {"varchar": "string", "integer": "int", "real": "float"}


def _hive_type(trino_type: str) -> str:
    return _HIVE_TYPES.get(trino_type, trino_type)


def _columns(db: str, table: str, where: TrinoSettings) -> list[tuple[str, str, bool, str]]:
    """(name, Hive type, is a partition column, comment) of each column, in the catalog's order."""
    from alleycat.sql_engine.local import execute

    try:
        found = execute(f'SHOW COLUMNS FROM "{db}"."{table}"', where).rows  # Column, Type, Extra, Comment
    except SqlError as exc:
        if "does not exist" in str(exc):
            raise SqlError(f"Table not found {db}.{table}") from None
        raise
    if not found:
        raise SqlError(f"Table not found {db}.{table}")
    return [(name, _hive_type(typ), extra == "partition key", comment or "") for name, typ, extra, comment in found]


def _hive_glob(pattern: str) -> re.Pattern[str]:
    """Hive's SHOW TABLES pattern: ``*`` any characters, ``|`` alternatives."""
    alternatives = [re.escape(p.strip()).replace(r"\*", ".*") for p in pattern.split("|")]
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.I)


def _projected(db: str, table: str, where: TrinoSettings) -> bool:
    """The table's partitions are projected on Athena (its definition's TBLPROPERTIES say so)."""
    for candidate in lake_tables(Lake(where.lake_uri)):
        if candidate.database == db and candidate.name == table:
            return ddl.hive_table(candidate).table_properties.get("projection.enabled") == "true"
    return False


def answer(sql: str, where: TrinoSettings) -> Result | None:
    """The answer to ``sql`` if it is one of Athena's Hive DDL statements, else None."""
    from alleycat.sql_engine.local import execute

    text = " ".join(sql.split())
    if match := _SHOW_TABLES.match(text):
        db = (match["db"] or where.schema).lower()
        names = [row[0] for row in execute(f'SHOW TABLES FROM "{db}"', where).rows]
        if match["pattern"] is not None:
            names = [n for n in names if _hive_glob(match["pattern"]).fullmatch(n)]
        return Result(["tab_name"], [(n,) for n in sorted(names)])
    if match := _SHOW_COLUMNS.match(text):
        db = (match["db"] or match["db2"] or where.schema).lower()
        return Result(["field"], [(name,) for name, *_ in _columns(db, match["table"].lower(), where)])
    if match := _DESCRIBE.match(text):
        columns = _columns((match["db"] or where.schema).lower(), match["table"].lower(), where)
        rows = [(name, typ, comment) for name, typ, _, comment in columns]
        partitions = [(name, typ, comment) for name, typ, partition, comment in columns if partition]
        if partitions:
            rows += [("", "", ""), ("# Partition Information", "", ""), ("# col_name", "data_type", "comment")]
            rows += [("", "", ""), *partitions]
        return Result(["col_name", "data_type", "comment"], rows)
    if match := _SHOW_PARTITIONS.match(text):
        db, table = (match["db"] or where.schema).lower(), match["table"].lower()
        if _projected(db, table, where):
            return Result(["partition"], [])  # Athena lists registered partitions only, never projected ones
        keys = [name for name, _, partition, _ in _columns(db, table, where) if partition]
        if not keys:
            raise SqlError(f"Table {table} is not a partitioned table")
        # bandit B608: db and table matched _NAME (letters, digits, _), quoted as identifiers
        found = execute(f'SELECT * FROM "{db}"."{table}$partitions"', where).rows  # nosec B608
        return Result(
            ["partition"], sorted(("/".join(f"{k}={v}" for k, v in zip(keys, row, strict=True)),) for row in found)
        )
    if match := _SHOW_CREATE.match(text):
        db, table = (match["db"] or where.schema).lower(), match["table"].lower()
        for candidate in lake_tables(Lake(where.lake_uri)):
            if candidate.database == db and candidate.name == table:
                lines = [line for line in ddl.render(candidate).splitlines() if not line.startswith("--")]
                return Result(["createtab_stmt"], [(line,) for line in lines])
        raise SqlError(f"Table not found {db}.{table}")
    return None
