"""Parameter substitution: typed literals, and values that try to change the statement rejected."""

from __future__ import annotations

import pytest

from alleycat.sql_engine import SqlError, local
from alleycat.sql_engine.params import Query, parse_assignments, positional, substitute
from tests.conftest import Athena

HEADER = """-- A test query.
-- param: race_id bigint  the race
-- param: name varchar
-- param: day date
-- param: ratio double
"""
SQL = HEADER + "SELECT :race_id AS race_id, :name AS name, :day AS day, :ratio AS ratio, ':race_id' AS text -- :name\n"
GOOD = {"race_id": "5715358", "name": "Ada", "day": "2024-05-01", "ratio": "0.5"}


def run(athena: Athena, sql: str) -> list[tuple]:
    """The statement on Trino (the local engine): the literals' types are Trino's."""
    return local.run(sql, athena.where).rows


def test_header_declares_description_and_typed_parameters() -> None:
    query = Query.from_text(SQL)
    assert query.description == "A test query."
    assert [(p.name, p.type, p.doc) for p in query.params] == [
        ("race_id", "bigint", "the race"),
        ("name", "varchar", ""),
        ("day", "date", ""),
        ("ratio", "double", ""),
    ]


def test_values_become_typed_literals_outside_strings_and_comments(athena: Athena) -> None:
    sql = substitute(Query.from_text(SQL), GOOD)
    assert "SELECT 5715358 AS race_id, 'Ada' AS name, DATE '2024-05-01' AS day, 0.5E0 AS ratio" in sql
    assert "':race_id' AS text -- :name" in sql
    import datetime as dt

    assert run(athena, sql) == [(5715358, "Ada", dt.date(2024, 5, 1), 0.5, ":race_id")]


def test_a_quote_in_a_string_value_stays_inside_the_literal(athena: Athena) -> None:
    attack = "x' UNION SELECT secret FROM t --"
    sql = substitute(Query.from_text(SQL), {**GOOD, "name": attack})
    assert run(athena, sql)[0][1] == attack


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("race_id", "1; DROP TABLE alleycat.telemetry"),
        ("race_id", "1 OR 1=1"),
        ("race_id", "99999999999999999999"),  # outside bigint
        ("day", "2024-05-01' OR '1'='1"),
        ("ratio", "nan"),
        ("ratio", "1e400"),
    ],
)
def test_values_that_are_not_of_the_declared_type_are_rejected(name: str, value: str) -> None:
    with pytest.raises(SqlError, match=f"parameter {name}"):
        substitute(Query.from_text(SQL), {**GOOD, name: value})


def test_missing_unknown_and_undeclared_parameters_are_errors() -> None:
    query = Query.from_text(SQL)
    with pytest.raises(SqlError, match="missing parameter"):
        substitute(query, {"race_id": "1"})
    with pytest.raises(SqlError, match="unknown parameter"):
        substitute(query, {**GOOD, "other": "1"})
    with pytest.raises(SqlError, match="not declared"):
        substitute(Query.from_text("SELECT :nope"), {})
    with pytest.raises(SqlError, match="unknown type"):
        Query.from_text("-- param: x text\nSELECT :x")


def test_positional_form_for_athena_execution_parameters() -> None:
    sql, values = positional(Query.from_text(HEADER + "SELECT :race_id, :name, :race_id"), GOOD | {"name": "O'Neil"})
    assert sql.endswith("SELECT ?, ?, ?")
    assert values == ["5715358", "'O''Neil'", "5715358"]


def test_param_options_parse_name_equals_value() -> None:
    assert parse_assignments(["race_id=5", "name=a=b"]) == {"race_id": "5", "name": "a=b"}
    with pytest.raises(SqlError):
        parse_assignments(["race_id"])
