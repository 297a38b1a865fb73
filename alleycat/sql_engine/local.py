"""The local engine: DuckDB over the lake, answering Athena SQL as Athena would.

Each table a query reads is registered as a view ``alleycat.<table>`` (and under its bare name):

* Hudi tables: the snapshot's file slices come from hudi-rs (the latest committed base file of
  every file group); DuckDB reads those Parquet files. The tables are Copy-on-Write: a slice with
  log files (merge-on-read) is an error rather than a read that would miss its updates.
* the raw table: Firehose's Parquet under ``dt=/hour=/``, the partition columns kept as strings
  (as Glue declares them).
* ``processing_failed``: Firehose's error records (JSON lines) under the processing-failed prefix.

Columns are cast to the catalog's types, so a file that lacks a column fails the query instead
of answering differently. The session time zone is UTC, as on Athena.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import duckdb
import hudi
import pyarrow as pa
from sqlglot import exp

from alleycat.lake.location import Lake
from alleycat.resources import GLUE_DATABASE
from alleycat.sql_engine import SqlError, transpile
from alleycat.sql_engine.tables import JsonTable, Table, lake_tables

log = logging.getLogger(__name__)


def _duck_type(glue_type: str) -> str:
    return exp.DataType.build(glue_type, dialect="hive").sql(dialect="duckdb")


def _visible_files(root: Path, pattern: str) -> list[str]:
    """Files under ``root`` matching ``pattern``, skipping hidden in-progress files (``.name.tmp``)."""
    return sorted(str(p) for p in root.glob(pattern) if p.is_file() and not p.name.startswith("."))


@dataclass
class LocalEngine:
    """Runs one query at a time over ``lake`` (its local directory: the lake needs a local root)."""

    lake: Lake

    def __post_init__(self) -> None:
        self.tables = {t.name: t for t in lake_tables(self.lake)}
        self.schema: transpile.Schema = {
            GLUE_DATABASE: {t.name: {c.name: c.type for c in t.columns} for t in self.tables.values()}
        }
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"CREATE SCHEMA {GLUE_DATABASE}")
        self._registered: set[str] = set()

    def translate(self, sql: str) -> str:
        """The DuckDB text this engine runs for ``sql`` (Trino)."""
        return transpile.to_duckdb(sql, self.schema, GLUE_DATABASE)

    def run(self, sql: str) -> pa.Table:
        """The result of one Trino statement (parameters already substituted)."""
        tree = transpile.parse(sql)
        unknown = sorted(transpile.referenced_tables(tree) - set(self.tables))
        if unknown:
            raise SqlError(f"unknown table(s) {', '.join(unknown)}; the lake has {', '.join(sorted(self.tables))}")
        for name in sorted(transpile.referenced_tables(tree)):
            self._register(self.tables[name])
        duck_sql = self.translate(sql)
        log.debug("duckdb query", extra={"sql": duck_sql})
        try:
            return self.con.sql(duck_sql).to_arrow_table()
        except duckdb.Error as exc:
            raise SqlError(f"query failed: {exc}") from None

    def _register(self, table: Table) -> None:
        if table.name in self._registered:
            return
        location = self.lake.resolve(table.location)
        if location.startswith("s3://"):
            raise SqlError(f"{table.name}: the local engine reads the lake from disk; set ALLEYCAT_S3_ROOT")
        if isinstance(table, JsonTable):
            relation = self._json_source(table, Path(location))
        elif table.format == "hudi":
            relation = self._hudi_source(table, Path(location))
        else:
            relation = self._raw_source(table, Path(location))
        columns = ", ".join(f'CAST("{c.name}" AS {_duck_type(c.type)}) AS "{c.name}"' for c in table.columns)
        # bandit B608: identifiers from alleycat.lake.schema, not input
        view = f"SELECT {columns} FROM {relation}"  # nosec B608
        # bandit B608: identifiers from alleycat.lake.schema
        self.con.execute(f'CREATE VIEW {GLUE_DATABASE}."{table.name}" AS {view}')  # nosec B608
        self.con.execute(f'CREATE VIEW main."{table.name}" AS SELECT * FROM {GLUE_DATABASE}."{table.name}"')  # nosec B608
        self._registered.add(table.name)

    def _empty(self, table: Table) -> str:
        columns = ", ".join(f'CAST(NULL AS {_duck_type(c.type)}) AS "{c.name}"' for c in table.columns)
        return f"(SELECT {columns} LIMIT 0)"

    def _hudi_source(self, table: Table, path: Path) -> str:
        if not (path / ".hoodie").is_dir():
            raise SqlError(f"{table.name}: no Hudi table at {table.location} (has the Glue job written it?)")
        slices = hudi.HudiTableBuilder.from_base_uri(str(path)).build().get_file_slices()
        with_logs = [s.file_id for s in slices if s.has_log_files()]
        if with_logs:
            raise SqlError(
                f"{table.name}: file groups {', '.join(with_logs[:3])} have log files (a merge-on-read "
                "snapshot); the local engine reads Copy-on-Write base files only"
            )
        log.info("hudi snapshot", extra={"table": table.name, "baseFiles": len(slices)})
        if not slices:
            return self._empty(table)
        return f"read_parquet({[str(path / s.base_file_relative_path()) for s in slices]!r})"

    def _raw_source(self, table: Table, path: Path) -> str:
        files = _visible_files(path, "dt=*/hour=*/*.parquet")
        if not files:
            return self._empty(table)
        hive_types = {key: "VARCHAR" for key in table.partition_keys}
        return f"read_parquet({files!r}, hive_partitioning = true, hive_types = {hive_types!r})"

    def _json_source(self, table: JsonTable, path: Path) -> str:
        files = _visible_files(path, "**/*")
        if not files:
            return self._empty(table)
        fields = {c.source: _duck_type(c.type) for c in table.columns}
        renames = ", ".join(f'"{c.source}" AS "{c.name}"' for c in table.columns)
        # bandit B608: schema identifiers; files quoted by repr
        return f"(SELECT {renames} FROM read_json({files!r}, format = 'newline_delimited', columns = {fields!r}))"  # nosec B608
