"""Each Trino-semantics fix of the local engine, against the result Trino gives (quoted from the
Trino documentation, docs/src/main/sphinx/functions/*.md), and the constructs it refuses."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pytest

from alleycat.sql_engine import SqlError
from alleycat.sql_engine.transpile import to_duckdb

SCHEMA = {"alleycat": {"t": {"a": "bigint", "b": "int", "d": "date", "x": "double", "s": "string"}}}


def trino(sql: str) -> list[tuple[Any, ...]]:
    """Run Trino ``sql`` the way the local engine does (UTC session) on a table-less DuckDB."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/Los_Angeles'")  # the engine must not depend on this
    con.execute("SET TimeZone = 'UTC'")
    return con.sql(to_duckdb(sql, SCHEMA, "alleycat")).fetchall()


def test_integer_division_truncates_toward_zero() -> None:
    # math.md: "/ Division (integer division performs truncation)": 7 / 2 = 3, -7 / 2 = -3
    assert trino("SELECT 7 / 2, -7 / 2, 7 / -2, CAST(9007199254740993 AS bigint) / 1") == [
        (3, -3, -3, 9007199254740993)
    ]


def test_integer_division_by_zero_fails_as_in_trino() -> None:
    # Trino: "Division by zero" (an error, not NULL)
    with pytest.raises(duckdb.Error, match="Division by zero"):
        trino("SELECT 1 / (2 - 2)")


def test_double_division_stays_floating_point() -> None:
    assert trino("SELECT 7 / 2e0, CAST(7 AS double) / 2") == [(3.5, 3.5)]


def test_split_part_past_the_end_is_null() -> None:
    # string.md: "If the index is larger than the number of fields, then null is returned."
    assert trino("SELECT split_part('a,b', ',', 3), split_part('a,,b', ',', 2), split_part('a,b', ',', 2)") == [
        (None, "", "b")
    ]


def test_date_minus_interval_is_a_date() -> None:
    # datetime.md: date '2012-08-08' + interval '2' day = 2012-08-10 (a date)
    assert trino("SELECT DATE '2012-08-08' + INTERVAL '2' DAY, DATE '2012-08-08' - INTERVAL '1' MONTH") == [
        (dt.date(2012, 8, 10), dt.date(2012, 7, 8))
    ]
    # date_add(unit, value, timestamp) -> [same as input]
    assert trino("SELECT date_add('day', -1, DATE '2012-08-08')") == [(dt.date(2012, 8, 7),)]


def test_adding_hours_to_a_date_is_refused() -> None:
    # Trino: "Cannot add hour, minutes or seconds to a date"
    with pytest.raises(SqlError, match="cannot add hours to a date"):
        trino("SELECT DATE '2012-08-08' + INTERVAL '3' HOUR")


def test_map_agg_and_cardinality_of_a_map() -> None:
    # aggregate.md: map_agg(key, value) -> map(K,V): a map created from the input key / value pairs
    # map.md: cardinality(x) -> bigint: the cardinality (size) of the map x
    pairs = "(VALUES ('a', 1), ('b', 2)) AS p(k, v)"
    rows = trino(f"SELECT cardinality(m), element_at(m, 'b') FROM (SELECT map_agg(k, v) AS m FROM {pairs})")
    assert rows == [(2, 2)]
    # array.md: cardinality(x) -> bigint: the cardinality (size) of the array x (NULL elements count)
    assert trino("SELECT cardinality(ARRAY[1, NULL, 3])") == [(3,)]


def test_map_agg_with_duplicate_keys_is_refused() -> None:
    # Trino keeps an arbitrary one of the values of a duplicate key: no single right answer
    with pytest.raises(duckdb.Error, match="map_agg: duplicate keys"):
        trino("SELECT map_agg(k, v) FROM (VALUES ('a', 1), ('a', 2)) AS p(k, v)")


def test_sums_of_integers_and_count_if_are_bigint() -> None:
    # aggregate.md: sum(x) -> [same as input] (bigint for integer input), count_if(x) -> bigint
    con = duckdb.connect()
    sql = to_duckdb("SELECT sum(v), count_if(v > 1) FROM (VALUES 1, 2, 3) AS p(v)", SCHEMA, "alleycat")
    assert [str(t) for t in con.sql(sql).types] == ["BIGINT", "BIGINT"]


def test_session_time_zone_is_utc() -> None:
    # Athena sessions run in UTC: from_unixtime(18000) is 05:00
    assert trino("SELECT hour(from_unixtime(18000))") == [(5,)]


def test_unnamed_columns_are_named_as_trino_names_them() -> None:
    con = duckdb.connect()
    assert con.sql(to_duckdb("SELECT 1, a, 2 AS two FROM (VALUES 5) AS p(a)", SCHEMA, "alleycat")).columns == [
        "_col0",
        "a",
        "two",
    ]


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ('SELECT "$path" FROM alleycat.t', '"$path"'),
        ('SELECT count(*) FROM alleycat.t GROUP BY "$file_modified_time"', '"$file_modified_time"'),
        ("SELECT b / 2.0 FROM alleycat.t", "decimal division"),
        ("SELECT :race_id", "unsubstituted parameter"),
        ("SELECT 1; SELECT 2", "one SQL statement"),
    ],
)
def test_constructs_it_cannot_run_faithfully_are_errors_naming_them(sql: str, named: str) -> None:
    with pytest.raises(SqlError, match=named.replace("$", r"\$")):
        to_duckdb(sql, SCHEMA, "alleycat")
