"""The lake's tables as a catalog: one definition for the Glue job, the AWS Glue Data Catalog and
the local SQL engine.

``tables(lake)`` returns every table of the lake (the raw landing zone and the three Hudi
tables) with its location, format, columns, partition keys, record key and ordering field. The
Glue job writes exactly these columns (``glue_jobs.transforms`` selects them from here); in
AWS its Hive sync registers the Hudi tables in the Glue Data Catalog, and locally the SQL engine
registers them from this module instead (it also renders ``sql/ddl`` from them)::

    from alleycat.lake.catalog import tables
    for table in tables(Lake(settings.lake_uri, settings.local_s3_root)):
        table.name, table.format, table.path, table.columns, table.partition_keys

Types are Glue/Athena (Hive) type names, which Spark SQL and DuckDB also accept. ``location`` is
the table's ``s3://`` URI, ``path`` where engines open it (a local directory when the lake has a
local root, see ``alleycat.lake.location``).

Hudi tables carry Hudi's meta columns (``_hoodie_commit_time``, ...) in front of these; readers
(Athena, hudi-rs) return the latest committed version of every record (snapshot query).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alleycat.lake.location import Lake
from alleycat.lake.schema import RAW_COLUMNS, RAW_PARTITIONS
from alleycat.resources import GLUE_DATABASE, RAW_TABLE


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Glue/Athena type: string, int, bigint, double, boolean
    comment: str = ""


@dataclass(frozen=True)
class CatalogTable:
    """One table of the lake."""

    name: str
    database: str
    location: str  # s3:// URI
    path: str  # where engines open it: a local directory on the local stack, else ``location``
    format: Literal["hudi", "parquet"]
    columns: tuple[Column, ...]  # the columns in file order, partition columns included
    partition_keys: tuple[str, ...]
    record_key: tuple[str, ...] = ()  # Hudi: one row per value of these columns
    ordering_field: str | None = None  # Hudi: of two rows for a key, the larger value is kept
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def ddl(self) -> str:
        """The columns as a Spark/Hive DDL string: ``name type, ...``."""
        return ", ".join(f"`{c.name}` {c.type}" for c in self.columns)


TELEMETRY_COLUMNS = (
    Column("race_id", "bigint"),
    Column("racer_id", "int"),
    Column("second", "int"),
    Column("class_id", "int", "1..6"),
    Column("uuid", "string", "the winning message's id"),
    Column("event", "string", "update | final"),
    Column("device_timestamp", "bigint", "epoch ms on the bike"),
    Column("name", "string", "racer's display name (personal data)"),
    Column("cadence", "double", "rpm"),
    Column("resistance", "double", "percent"),
    Column("output_milli", "bigint", "output in thousandths, exact (alleycat.domain.events.output_milli)"),
    Column("output", "double", "output_milli / 1000"),
    Column("final_seen", "boolean", "a `final` message for this point arrived in the same micro-batch"),
    Column("event_order", "string", "ordering field: 13-digit deviceTimestamp, '-', uuid"),
    Column("dt", "string", "partition: the race's UTC start date (raceId x 300 s)"),
)

RACE_RESULTS_COLUMNS = (
    Column("race_id", "bigint"),
    Column("racer_id", "int"),
    Column("class_id", "int"),
    Column("name", "string", "the name on the racer's latest second (personal data)"),
    Column("total_milli", "bigint", "sum of output_milli over the racer's seconds, exact"),
    Column("total_output", "double", "total_milli / 1000"),
    Column("avg_output", "double", "RacerScore.avg_output: total / seconds, 3 decimals"),
    Column("max_output", "double"),
    Column("seconds", "int", "distinct seconds counted"),
    Column("last_second", "int"),
    Column("finished", "boolean", "the racer's `final` message arrived"),
    Column("updated_at", "bigint", "ordering field: epoch ms of the micro-batch that recomputed the row"),
    Column("dt", "string", "partition: the race's UTC start date"),
)

RACER_BESTS_COLUMNS = (
    Column("racer_id", "int"),
    Column("second", "int", "second of the race"),
    Column("output_milli", "bigint", "ordering field: the best output at this second, thousandths"),
    Column("output", "double", "output_milli / 1000"),
    Column("class_id", "int", "partition"),
)


def tables(lake: Lake) -> list[CatalogTable]:
    """Every table of ``lake``."""
    layout = lake.layout
    return [
        CatalogTable(
            name=RAW_TABLE,
            database=GLUE_DATABASE,
            location=layout.raw,
            path=lake.resolve(layout.raw),
            format="parquet",
            columns=(
                *(Column(name, glue, comment) for name, glue, _, comment in RAW_COLUMNS),
                *(Column(name, glue) for name, glue in RAW_PARTITIONS),
            ),
            partition_keys=tuple(name for name, _ in RAW_PARTITIONS),
            description="Firehose's Parquet: every valid message as delivered (duplicates included)",
        ),
        CatalogTable(
            name="telemetry",
            database=GLUE_DATABASE,
            location=layout.hudi_table("telemetry"),
            path=lake.resolve(layout.hudi_table("telemetry")),
            format="hudi",
            columns=TELEMETRY_COLUMNS,
            partition_keys=("dt", "class_id"),
            record_key=("race_id", "racer_id", "second"),
            ordering_field="event_order",
            description="one row per data point: the winning message (later deviceTimestamp, then larger uuid)",
        ),
        CatalogTable(
            name="race_results",
            database=GLUE_DATABASE,
            location=layout.hudi_table("race_results"),
            path=lake.resolve(layout.hudi_table("race_results")),
            format="hudi",
            columns=RACE_RESULTS_COLUMNS,
            partition_keys=("dt", "class_id"),
            record_key=("race_id", "racer_id"),
            ordering_field="updated_at",
            description="one row per racer per race, recomputed from telemetry (alleycat.domain.scoring)",
        ),
        CatalogTable(
            name="racer_bests",
            database=GLUE_DATABASE,
            location=layout.hudi_table("racer_bests"),
            path=lake.resolve(layout.hudi_table("racer_bests")),
            format="hudi",
            columns=RACER_BESTS_COLUMNS,
            partition_keys=("class_id",),
            record_key=("racer_id", "class_id", "second"),
            ordering_field="output_milli",
            description="each racer's best output at each second of a race in a class, over the winning messages",
        ),
    ]


def table(lake: Lake, name: str) -> CatalogTable:
    """One table by name (``raw_telemetry``, ``telemetry``, ``race_results``, ``racer_bests``)."""
    for candidate in tables(lake):
        if candidate.name == name:
            return candidate
    raise KeyError(f"no lake table named {name!r}")
