"""sql/ddl is the rendering of the table definitions, and the raw table's DDL is RAW_COLUMNS."""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

from alleycat.lake.schema import RAW_COLUMNS, RAW_PARTITIONS
from alleycat.resources import RAW_TABLE
from alleycat.sql_engine.ddl import DDL_DIR, DEFAULT_LAKE, render_all


def test_ddl_files_are_the_rendered_definitions() -> None:
    rendered = render_all(DEFAULT_LAKE)
    assert sorted(rendered) == sorted(p.name for p in DDL_DIR.glob("*.sql"))
    for name, text in rendered.items():
        assert (DDL_DIR / name).read_text() == text, f"sql/ddl/{name} drifted: python -m alleycat.sql_engine.ddl"


def test_raw_table_ddl_declares_raw_columns_and_projected_partitions() -> None:
    text = (DDL_DIR / f"{RAW_TABLE}.sql").read_text()
    create = sqlglot.parse_one(text, read="hive")
    schema = create.this
    columns = [(c.name, c.args["kind"].sql("hive").lower()) for c in schema.expressions]
    assert columns == [(name, glue) for name, glue, _, _ in RAW_COLUMNS]
    partitioned_by = create.find(exp.PartitionedByProperty)
    assert partitioned_by is not None
    partitioned = partitioned_by.this.expressions
    assert [(c.name, c.args["kind"].sql("hive").lower()) for c in partitioned] == list(RAW_PARTITIONS)
    props = dict(re.findall(r"'([a-z.]+)' = '([^']*)'", text))
    assert props["projection.dt.type"] == "date" and props["projection.dt.format"] == "yyyy-MM-dd"
    assert (props["projection.hour.type"], props["projection.hour.range"], props["projection.hour.digits"]) == (
        "integer",
        "0,23",
        "2",
    )
    assert props["storage.location.template"].endswith("/raw/telemetry/dt=${dt}/hour=${hour}/")


def test_hudi_tables_are_read_with_the_hudi_input_format() -> None:
    for name in ("telemetry", "race_results", "racer_bests"):
        text = (DDL_DIR / f"{name}.sql").read_text()
        assert "INPUTFORMAT 'org.apache.hudi.hadoop.HoodieParquetInputFormat'" in text
        assert "`_hoodie_commit_time` string" in text
