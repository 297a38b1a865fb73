"""Trino (Athena engine v3) SQL to DuckDB SQL, keeping Trino's answers.

sqlglot does the dialect translation; the query is first qualified and typed against the lake's
table schemas, so the rewrites below can see operand types. Each rewrite exists because DuckDB
answers differently from Trino (tests/sql/test_transpile.py has the Trino result of each):

* ``int / int`` truncates toward zero in Trino and fails on a zero divisor; DuckDB's ``/`` is
  floating point (and its ``//`` floors).
* ``split_part`` past the last field is NULL in Trino, ``''`` in DuckDB.
* ``date ± interval`` (and ``date_add`` on a date) is a DATE in Trino, a TIMESTAMP in DuckDB; Trino
  rejects adding hours, minutes or seconds to a date.
* ``map_agg`` does not exist in DuckDB; sqlglot turns ``cardinality(map)`` into ``array_length``
  (lists only).
* ``sum`` of integers and ``count_if`` are BIGINT in Trino, HUGEINT in DuckDB.
* ``approx_percentile`` / ``approx_distinct`` run exactly (``quantile_disc``, ``count(DISTINCT)``):
  an exact answer is within Trino's error bounds, and it makes results reproducible.
* Unnamed output columns are ``_col<N>`` as in Trino.

What cannot be answered faithfully (hidden columns such as ``"$path"``, decimal division, unknown
operand types of ``/``) raises SqlError naming the construct.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from alleycat.sql_engine import SqlError

# database -> table -> column -> Glue/Hive type
Schema = dict[str, dict[str, dict[str, str]]]

_INTEGERS = {exp.DataType.Type.TINYINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.INT, exp.DataType.Type.BIGINT}
_FLOATS = {exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT}
_DATE_UNITS = {"DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}


def parse(sql: str) -> exp.Expr:
    """One Trino statement, parsed."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="trino") if s is not None]
    except ParseError as exc:
        raise SqlError(f"cannot parse the query: {exc}") from None
    if len(statements) != 1:
        raise SqlError(f"expected one SQL statement, found {len(statements)}")
    return statements[0]


def referenced_tables(tree: exp.Expr) -> set[str]:
    """Names of the tables a query reads (CTE names excluded)."""
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes}


def to_duckdb(sql: str, schema: Schema, default_db: str) -> str:
    """The DuckDB text of one Trino statement over tables described by ``schema``."""
    tree = parse(sql)
    _reject_unsupported(tree)
    _name_output_columns(tree)
    tables: dict[str, object] = dict(schema)  # MappingSchema's parameter is a plain dict of any nesting
    try:
        tree = qualify(tree, schema=MappingSchema(tables, dialect="hive"), db=default_db, dialect="trino")
        tree = annotate_types(tree, schema=MappingSchema(tables, dialect="hive"), dialect="trino")
    except OptimizeError as exc:
        raise SqlError(str(exc)) from None
    for node in reversed(list(tree.walk())):  # children first: a rewrite renders its operands
        new = _rewrite(node)
        if new is not node:
            new.type = node.type
            tree = new if node is tree else tree
            node.replace(new)
    try:
        return tree.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except SqlglotError as exc:
        raise SqlError(f"cannot translate to DuckDB faithfully: {exc}") from None


def _reject_unsupported(tree: exp.Expr) -> None:
    for node in tree.find_all(exp.Identifier):
        if node.name.startswith("$"):
            raise SqlError(
                f'"{node.name}" is an Athena hidden column (the object a row came from); '
                "the local engine has no equivalent, run it with --engine athena"
            )
    placeholder = tree.find(exp.Placeholder, exp.Parameter)
    if placeholder is not None:
        raise SqlError(f"unsubstituted parameter {placeholder.sql('trino')}: declare it and pass --param")


def _name_output_columns(tree: exp.Expr) -> None:
    """Trino names an unnamed output column ``_col<position>``."""
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    if select is None or not isinstance(tree, (exp.Select, exp.SetOperation)):
        return
    for i, projection in enumerate(select.expressions):
        if not isinstance(projection, (exp.Alias, exp.Column, exp.Star)):
            projection.replace(exp.alias_(projection.copy(), f"_col{i}"))


def _type(node: exp.Expr) -> exp.DType | None:  # exp.DataType.Type, as a type
    typ = node.type
    return None if typ is None or typ.this == exp.DataType.Type.UNKNOWN else typ.this


def _is_decimal(node: exp.Expr) -> bool:
    if isinstance(node, exp.Literal) and not node.is_string:
        return "." in node.this and "e" not in node.this.lower()  # 1.5 is DECIMAL in Trino, 1.5e0 DOUBLE
    return _type(node) == exp.DataType.Type.DECIMAL


def _duck(sql: str, **parts: exp.Expr) -> exp.Expr:
    """A DuckDB fragment with ``{name}`` slots filled by already-typed expressions."""
    rendered = {k: v.sql(dialect="duckdb") for k, v in parts.items()}
    return sqlglot.parse_one(sql.format(**rendered), read="duckdb")


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Div):
        return _division(node)
    if isinstance(node, exp.SplitPart):
        return _duck(
            "CASE WHEN {i} < 1 THEN error('split_part: index must be greater than zero') "
            "ELSE string_split({s}, {d})[{i}] END",
            s=node.this,
            d=node.args["delimiter"],
            i=node.args["part_index"],
        )
    if isinstance(node, (exp.Add, exp.Sub)) and isinstance(node.expression, exp.Interval):
        return _date_arithmetic(node, node.this, node.expression.unit)
    if isinstance(node, exp.DateAdd):
        return _date_arithmetic(node, node.this, node.args.get("unit"))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "map_agg":
        key, value = node.expressions
        return _duck(
            "CASE WHEN count(DISTINCT {k}) = count({k}) "
            "THEN map_from_entries(list(struct_pack(k := {k}, v := {v})) FILTER (WHERE {k} IS NOT NULL)) "
            "ELSE error('map_agg: duplicate keys (Trino keeps an arbitrary one of their values)') END",
            k=key,
            v=value,
        )
    if isinstance(node, exp.ArraySize):  # DuckDB's cardinality takes maps and lists, array_length lists only
        return exp.Anonymous(this="cardinality", expressions=[node.this])
    if isinstance(node, exp.ApproxQuantile):
        return exp.Anonymous(this="quantile_disc", expressions=[node.this, node.args["quantile"]])
    if isinstance(node, exp.ApproxDistinct):
        return exp.Count(this=exp.Distinct(expressions=[node.this]))
    if (isinstance(node, exp.Sum) and _type(node.this) in _INTEGERS) or isinstance(node, exp.CountIf):
        return exp.cast(node, exp.DataType.Type.BIGINT)
    return node


def _division(node: exp.Div) -> exp.Expr:
    left, right = node.this, node.expression
    types = (_type(left), _type(right))
    if _is_decimal(left) or _is_decimal(right):
        if (types[0] in _FLOATS and not _is_decimal(left)) or (types[1] in _FLOATS and not _is_decimal(right)):
            return exp.Div(this=left, expression=right)  # decimal with double is double division
        raise SqlError(
            f"decimal division {node.sql('trino')}: Trino rounds it to a decimal scale; "
            "cast an operand to double (or write the literal as 1e3)"
        )
    if types[0] in _INTEGERS and types[1] in _INTEGERS:
        # exact truncation toward zero: (a - a % b) is a multiple of b (DuckDB's % truncates)
        return _duck(
            "CASE WHEN {b} = 0 THEN error('Division by zero') ELSE ({a} - {a} % {b}) // {b} END",
            a=left,
            b=right,
        )
    if types[0] in _FLOATS | _INTEGERS and types[1] in _FLOATS | _INTEGERS:
        return exp.Div(this=left, expression=right)
    raise SqlError(f"division {node.sql('trino')}: cannot tell its operand types; cast them")


def _date_arithmetic(node: exp.Expr, operand: exp.Expr, unit: exp.Expr | None) -> exp.Expr:
    if _type(operand) != exp.DataType.Type.DATE:
        return node
    name = (unit.name if unit is not None else "DAY").upper()
    if name not in _DATE_UNITS:
        raise SqlError(f"{node.sql('trino')}: Trino cannot add {name.lower()}s to a date")
    return exp.cast(node, exp.DataType.Type.DATE)
