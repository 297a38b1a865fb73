"""The Hudi tables through Spark: write options, upserts, deletes, snapshot reads.

Copy-on-Write, written as table version 6 (``hoodie.write.table.version=6``, Hudi 0.14/0.15
format: what Athena documents it reads; hudi-rs reads it too) with the metadata table off (an
older reader's requirement for tables written by 1.x). Upserts combine on the catalog's record key
with ``DefaultHoodieRecordPayload``: of two rows for a key the larger ordering field is kept, also
against the stored row. Tuned from the job's profile (docs/design.md, "The lake"):

* no combining before the upsert: every frame the job writes has one row per record key already
  (``transforms``), so Hudi's own de-duplication would be a shuffle that changes nothing;
* the Bloom index: with the key's leading ``race_id`` its key-range pruning skips every file of
  earlier races, where the simple index read and joined every key of the touched partitions (the
  whole day of a class, growing through the day);
* small files of at most 16 MiB: new rows go into a partition's files under that size (until
  ``hoodie.parquet.max.file.size``); Copy-on-Write rewrites such a file whole, so the limit bounds
  what each micro-batch rewrites (100 MiB made it most of a day's partition);
* no embedded timeline server: one writer per table and commit, nothing to share.

Cleaning keeps the last 10 commits' file versions and archival keeps 20-30 commits on the active
timeline, so commit time does not grow with the timeline. With a Glue database (AWS) each write
also syncs the table to the Glue Data Catalog (Hive sync).
"""

from __future__ import annotations

import re

import pyarrow.fs as pafs
from pyspark.sql import DataFrame, SparkSession

from alleycat.lake import uris
from alleycat.lake.catalog import CatalogTable

HUDI_WRITE_OPTIONS = {
    "hoodie.datasource.write.table.type": "COPY_ON_WRITE",
    "hoodie.datasource.write.operation": "upsert",
    "hoodie.datasource.write.keygenerator.class": "org.apache.hudi.keygen.ComplexKeyGenerator",
    "hoodie.datasource.write.hive_style_partitioning": "true",
    "hoodie.datasource.write.payload.class": "org.apache.hudi.common.model.DefaultHoodieRecordPayload",
    "hoodie.combine.before.upsert": "false",
    "hoodie.index.type": "BLOOM",
    "hoodie.embed.timeline.server": "false",
    "hoodie.write.table.version": "6",
    "hoodie.write.auto.upgrade": "false",
    "hoodie.metadata.enable": "false",
    "hoodie.table.timeline.timezone": "UTC",
    "hoodie.parquet.small.file.limit": str(16 * 1024 * 1024),
    "hoodie.parquet.max.file.size": str(120 * 1024 * 1024),
    "hoodie.copyonwrite.record.size.estimate": "128",
    "hoodie.clean.automatic": "true",
    "hoodie.cleaner.policy": "KEEP_LATEST_COMMITS",
    "hoodie.cleaner.commits.retained": "10",
    "hoodie.archive.automatic": "true",
    "hoodie.keep.min.commits": "20",
    "hoodie.keep.max.commits": "30",
}


def hudi_options(target: CatalogTable, glue_database: str = "") -> dict[str, str]:
    """The write options of ``target`` (its key, partitions and ordering field from the catalog)."""
    options = {
        **HUDI_WRITE_OPTIONS,
        "hoodie.table.name": target.name,
        "hoodie.datasource.write.recordkey.field": ",".join(target.record_key),
        "hoodie.datasource.write.partitionpath.field": ",".join(target.partition_keys),
        "hoodie.datasource.write.precombine.field": target.ordering_field or "",
    }
    if glue_database:
        options |= {
            "hoodie.datasource.hive_sync.enable": "true",
            "hoodie.datasource.hive_sync.mode": "hms",
            "hoodie.datasource.hive_sync.database": glue_database,
            "hoodie.datasource.hive_sync.table": target.name,
            "hoodie.datasource.hive_sync.partition_fields": ",".join(target.partition_keys),
            "hoodie.datasource.hive_sync.partition_extractor_class": "org.apache.hudi.hive.MultiPartKeysValueExtractor",
            "hoodie.datasource.meta_sync.condition.sync": "true",
        }
    return options


def upsert(df: DataFrame, target: CatalogTable, glue_database: str = "") -> None:
    """One commit: insert ``df``'s rows, or keep the larger ordering field where a key exists."""
    df.write.format("hudi").options(**hudi_options(target, glue_database)).mode("append").save(target.path)


def delete(df: DataFrame, target: CatalogTable, glue_database: str = "") -> None:
    """One commit: remove the records with ``df``'s keys."""
    df.write.format("hudi").options(**hudi_options(target, glue_database)).option(
        "hoodie.datasource.write.operation", "delete"
    ).mode("append").save(target.path)


_COMPLETED = re.compile(r"^\d+\.(commit|replacecommit|deltacommit)$")  # a completed instant (timeline layout 1)


def exists(target: CatalogTable) -> bool:
    """Whether the table has a completed commit. A first write creates the table; if that write is
    killed mid-commit, the table has a timeline but no commit, and reading it yields no columns:
    it counts as not there yet (the replayed write then rolls the failed commit back)."""
    fs, path = uris.filesystem(target.path, local_root=None)  # ``path`` is already resolved
    timeline = fs.get_file_info(pafs.FileSelector(f"{path}/.hoodie", allow_not_found=True))
    return any(_COMPLETED.match(info.base_name) for info in timeline)


def read_table(spark: SparkSession, target: CatalogTable) -> DataFrame:
    """The table's snapshot (latest committed rows), catalog columns only."""
    return spark.read.format("hudi").load(target.path).select(target.column_names)
