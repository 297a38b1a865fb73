"""Reading the Hudi tables without Spark, with hudi-rs (the ``hudi`` package the SQL engine uses):
snapshots as Arrow tables, and each table's timeline of completed commits."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from hudi import HudiReadOptions, HudiTableBuilder

from alleycat.lake.catalog import CatalogTable


@dataclass(frozen=True)
class Commit:
    instant: str  # Hudi instant time, yyyyMMddHHmmssSSS (UTC)
    action: str
    epoch_ms: int


def read(table: CatalogTable, columns: list[str] | None = None) -> pa.Table:
    """The table's latest snapshot: the catalog's columns (or ``columns``), no Hudi meta columns."""
    hudi_table = HudiTableBuilder.from_base_uri(table.path).build()
    wanted = columns or table.column_names
    batches = hudi_table.read(HudiReadOptions(projection=wanted))
    if not batches:
        return pa.table({name: pa.array([], type=pa.null()) for name in wanted})
    return pa.Table.from_batches(batches).select(wanted)


def commits(table: CatalogTable) -> list[Commit]:
    """Completed commits on the active timeline, oldest first."""
    timeline = HudiTableBuilder.from_base_uri(table.path).build().get_timeline()
    return [Commit(i.timestamp, i.action, i.epoch_mills) for i in timeline.get_completed_commits()]
