"""The local Glue Data Catalog: the lake's tables registered in Trino's file metastore.

On AWS the Glue Data Catalog holds the tables (the template declares the raw table, the Glue job's
Hive sync registers the Hudi tables and their partitions) and Athena reads it. Locally Trino's
``hive.metastore=file`` is that catalog: a directory of JSON documents under
``<home>/trino/metastore`` (``infra.local.trino``). ``sync`` writes every table there from
``alleycat.sql_engine.ddl.hive_table``, the value ``sql/ddl`` is rendered from, so the DDL analysts
run on Athena and the local catalog cannot drift, then registers each partition directory found on
disk:

* Hudi tables keep Hudi's input format (``HoodieParquetInputFormat``), so Trino's Hive connector
  hands them to its Hudi connector (snapshot reads of the Copy-on-Write tables); their partitions
  are registered as the Glue job's Hive sync registers them on AWS.
* The raw table is partition-projected on Athena. Locally its partitions are registered instead
  (Trino would plan ~24 partitions per day since 2024 for a query without a ``dt`` filter and list
  each); the projection properties are left out of the local entry. ``docs/sql.md`` says so.

Partitions are only ever added (the lake never deletes one); ``sync`` is idempotent and cheap (one
directory listing per table), and runs after every Glue-job batch of the local lake.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alleycat.lake.location import Lake
from alleycat.sql_engine.ddl import HUDI, PARQUET, PROJECTION_PREFIXES, HiveTable, hive_table
from alleycat.sql_engine.tables import lake_tables
from alleycat.support.files import atomic_write

log = logging.getLogger("alleycat.glue_catalog")

TRINO_VERSION = "476"  # the file metastore refuses documents another version wrote
SCHEMA_FILE = ".trinoSchema"
OWNER = "alleycat"


def _column(column: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": column.name, "type": column.type, "properties": {}}
    if column.comment:
        entry["comment"] = column.comment
    return entry


def _storage(hive: HiveTable) -> dict[str, Any]:
    serde, input_format, output_format = hive.storage
    if hive.storage == PARQUET:
        return {"storageFormat": "PARQUET"}
    return {"originalStorageFormat": {"serde": serde, "inputFormat": input_format, "outputFormat": output_format}}


def local_location(path: str) -> str:
    """A local directory as Trino's native local file system names it (its root is ``/``)."""
    return "local://" + str(Path(path).resolve())


def table_document(hive: HiveTable, path: str) -> dict[str, Any]:
    """The file metastore's document of ``hive``, its data at the local directory ``path``."""
    properties = {k: v for k, v in hive.table_properties.items() if not k.startswith(PROJECTION_PREFIXES)}
    return {
        "writerVersion": TRINO_VERSION,
        "owner": OWNER,
        "tableType": "EXTERNAL_TABLE",
        "dataColumns": [_column(c) for c in hive.data_columns],
        "partitionColumns": [_column(c) for c in hive.partition_columns],
        "parameters": {"EXTERNAL": "TRUE", "comment": hive.description, **properties},
        **_storage(hive),
        "serdeParameters": hive.serde_properties,
        "externalLocation": local_location(path),
        "columnStatistics": {},
    }


def partition_document(hive: HiveTable, location: Path) -> dict[str, Any]:
    return {
        "columns": [_column(c) for c in hive.data_columns],
        "parameters": {},
        **_storage(hive),
        "serdeParameters": hive.serde_properties,
        "externalLocation": local_location(str(location)),
        "columnStatistics": {},
    }


def _write_if_changed(path: Path, document: dict[str, Any]) -> bool:
    text = json.dumps(document, indent=2, sort_keys=True)
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda out: out.write(text.encode()))
    return True


def _partition_dirs(root: Path, keys: Iterable[str]) -> list[Path]:
    """Directories ``root/k1=v1/k2=v2`` (Hive-style, every key in order), skipping hidden ones."""
    found = [root]
    for key in keys:
        found = [
            d for parent in found for d in sorted(parent.glob(f"{key}=*")) if d.is_dir() and not d.name.startswith(".")
        ]
    return found


def _drop_partitions(table_dir: Path) -> None:
    for child in table_dir.iterdir():
        if child.is_dir() and "=" in child.name:
            shutil.rmtree(child)


def sync(lake: Lake, metastore: Path) -> int:
    """Register every table of ``lake`` and the partitions on disk. Returns the documents written."""
    written = 0
    written += _write_if_changed(
        metastore / f".{lake_tables(lake)[0].database}{SCHEMA_FILE}",
        {"writerVersion": TRINO_VERSION, "ownerName": OWNER, "ownerType": "USER", "parameters": {}},
    )
    for table in lake_tables(lake):
        hive = hive_table(table)
        path = Path(lake.resolve(hive.location))
        if hive.storage != HUDI:
            # An S3 prefix with no objects is an empty table on Athena; Trino wants the directory.
            path.mkdir(parents=True, exist_ok=True)
        table_dir = metastore / hive.database / hive.name
        if _write_if_changed(table_dir / SCHEMA_FILE, table_document(hive, str(path))):
            written += 1
            _drop_partitions(table_dir)  # a new definition or location: its old partitions are not ours
        keys = [c.name for c in hive.partition_columns]
        if not keys:
            continue
        for directory in _partition_dirs(path, keys):
            entry = table_dir / directory.relative_to(path) / SCHEMA_FILE
            if not entry.exists():
                written += _write_if_changed(entry, partition_document(hive, directory))
    if written:
        log.info("catalog synced", extra={"lake": lake.uri, "documents": written})
    return int(written)
