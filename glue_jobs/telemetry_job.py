"""The Glue streaming job: raw telemetry -> the Hudi tables ``telemetry``, ``race_results``, ``racer_bests``.

One file runs in AWS Glue 5.1 (Spark 3.5.6, Hudi 1.0.2) and locally on plain Spark (local[2]).

* AWS: job parameters ``--datalake-formats hudi``, ``--enable-glue-datacatalog true``,
  ``--conf spark.serializer=org.apache.spark.serializer.KryoSerializer``,
  ``--extra-py-files`` a zip of ``alleycat/`` and ``glue_jobs/``, and the job arguments
  ``--lake_uri s3://bucket --glue_database alleycat`` (Hive sync of the Hudi tables to the Glue
  Data Catalog), optionally ``--source kinesis --kinesis_stream_arn arn:...``. ``awsglue`` is
  imported only when present.
* Locally: ``alleycat lake`` (or ``python -m glue_jobs.telemetry_job --lake_uri ...``); Spark gets
  the Hudi bundle from ``build/jars/hudi`` (``make setup``), never from the network.

Source: Structured Streaming over the raw landing zone (Parquet, ``RAW_SCHEMA``, partitions
``dt``/``hour`` as strings), micro-batches every ``trigger_seconds`` of at most
``max_files_per_trigger`` files, checkpointed under ``LakeLayout.checkpoints``: a restarted job
goes on from the last committed batch, and a batch replayed after a crash is idempotent (upserts
of the same winners, results recomputed, bests only raised), so nothing is lost or counted twice.
``mode="once"`` processes what is there now (availableNow) and stops; ``mode="backfill"``
reprocesses the whole raw zone in one batch without the checkpoint and yields the same tables.

Each micro-batch (``process_batch``):
1. ``telemetry``: the winning message per ``(race_id, racer_id, second)`` within the batch
   (later ``device_timestamp``, then larger ``uuid``: ``Telemetry.beats``), upserted with the
   ordering field ``event_order`` = 13-digit deviceTimestamp + "-" + uuid and
   ``DefaultHoodieRecordPayload``, so a late, older message never replaces a newer stored one.
2. ``race_results``: recomputed from the stored telemetry of every race the batch touched, a race
   being a ``(race_id, class_id)`` pair (all classes race in every 300 s slot and share its
   race_id): exactly those pairs are read, never a whole slot nor a cross product of the touched
   slots and classes (exact integer thousandths, like ``alleycat.domain.scoring``); ``finished``
   never goes back. A row per ``(race_id, racer_id)`` is a row per racer per race: a racer rides
   one class per slot.
3. ``racer_bests``: the best output per ``(racer_id, class_id, second)`` of the touched races,
   upserted with ordering field ``output_milli`` ("only if higher", like the DynamoDB BEST items);
   the rare keys where a newer message lowered a stored winner's output are recomputed from the
   whole history, so the table is always the maximum over the winning messages. Then the
   per-class export is rewritten.

Hudi: Copy-on-Write, written as table version 6 (``hoodie.write.table.version=6``, Hudi
0.14/0.15 format: what Athena documents it reads; hudi-rs reads it too) with the metadata table
off (an older reader's requirement for tables written by 1.x). Small files: new rows go into the
partition's files under ``hoodie.parquet.small.file.limit`` until they reach
``hoodie.parquet.max.file.size``; cleaning keeps the last 10 commits' file versions and archival
keeps 20-30 commits on the active timeline, so commit time does not grow with the timeline.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyspark.sql import Column, DataFrame, Row, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import DoubleType

from alleycat import lake, logs
from alleycat.domain.events import RACE_SECONDS
from alleycat.domain.scoring import RacerScore
from alleycat.resources import LakeLayout
from glue_jobs import bests_export, catalog
from glue_jobs.catalog import CatalogTable, table

log = logging.getLogger("alleycat.lake.job")

RACE_KEY = ("race_id", "class_id")  # a race (alleycat.domain.events.RaceKey): every class races in each slot

HUDI_JAR_DIR = Path(__file__).resolve().parents[1] / "build" / "jars" / "hudi"
HUDI_SPARK_CONF = {
    "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
    "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
    "spark.sql.extensions": "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
    "spark.sql.session.timeZone": "UTC",
}
HUDI_WRITE_OPTIONS = {
    "hoodie.datasource.write.table.type": "COPY_ON_WRITE",
    "hoodie.datasource.write.operation": "upsert",
    "hoodie.datasource.write.keygenerator.class": "org.apache.hudi.keygen.ComplexKeyGenerator",
    "hoodie.datasource.write.hive_style_partitioning": "true",
    "hoodie.datasource.write.payload.class": "org.apache.hudi.common.model.DefaultHoodieRecordPayload",
    "hoodie.combine.before.upsert": "true",
    "hoodie.write.table.version": "6",
    "hoodie.write.auto.upgrade": "false",
    "hoodie.metadata.enable": "false",
    "hoodie.table.timeline.timezone": "UTC",
    "hoodie.parquet.small.file.limit": str(100 * 1024 * 1024),
    "hoodie.parquet.max.file.size": str(120 * 1024 * 1024),
    "hoodie.copyonwrite.record.size.estimate": "128",
    "hoodie.clean.automatic": "true",
    "hoodie.cleaner.policy": "KEEP_LATEST_COMMITS",
    "hoodie.cleaner.commits.retained": "10",
    "hoodie.archive.automatic": "true",
    "hoodie.keep.min.commits": "20",
    "hoodie.keep.max.commits": "30",
}


PAYLOAD_DDL = (  # the wire format (alleycat.domain.events), as Spark parses it
    "uuid string, event string, deviceTimestamp bigint, second int, raceId bigint, name string, "
    "racerId int, classId int, cadence double, resistance double"
)


@dataclass(frozen=True)
class JobConfig:
    lake_uri: str
    mode: Literal["stream", "once", "backfill"] = "stream"
    source: Literal["raw", "kinesis"] = "raw"
    trigger_seconds: int = 60
    max_files_per_trigger: int = 1000
    kinesis_stream_arn: str = ""  # source="kinesis" (AWS only)
    glue_database: str = ""  # set in AWS: Hive sync of the Hudi tables to this Glue database
    export_bests: bool = True

    @property
    def layout(self) -> LakeLayout:
        return LakeLayout(self.lake_uri)

    def table(self, name: str) -> CatalogTable:
        return table(self.lake_uri, name)

    @property
    def checkpoint(self) -> str:
        return lake.resolve(lake.join(self.layout.checkpoints, f"telemetry-job-{self.source}"))


# --- Spark ----------------------------------------------------------------------------------------


def spark_session(app_name: str = "alleycat-lake") -> SparkSession:
    """Glue's session when running in AWS Glue, else a local one with the Hudi bundle."""
    try:
        from awsglue.context import GlueContext
    except ImportError:
        return local_spark_session(app_name)
    from pyspark import SparkContext

    return GlueContext(SparkContext.getOrCreate()).spark_session


def local_spark_session(app_name: str = "alleycat-lake", master: str = "local[2]") -> SparkSession:
    jars = sorted(HUDI_JAR_DIR.glob("*.jar"))
    if not jars:
        raise RuntimeError(f"the Hudi Spark bundle is not in {HUDI_JAR_DIR}: run `make setup`")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers import alleycat like the driver
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.jars", ",".join(str(j) for j in jars))
        .config("spark.driver.memory", "2g")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", "-Djdk.attach.allowAttachSelf=true")
    )
    for key, value in HUDI_SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def raw_table_ddl(lake_uri: str) -> str:
    return table(lake_uri, "raw_telemetry").ddl()


def raw_stream(spark: SparkSession, config: JobConfig) -> DataFrame:
    """New raw Parquet files as a stream (partition columns ``dt``/``hour`` from the paths)."""
    raw = lake.resolve(config.layout.raw)
    if not raw.startswith("s3://"):
        Path(raw).mkdir(parents=True, exist_ok=True)  # the file source needs the directory
    return (
        spark.readStream.schema(raw_table_ddl(config.lake_uri))
        .option("maxFilesPerTrigger", config.max_files_per_trigger)
        .parquet(raw)
    )


def kinesis_stream(spark: SparkSession, config: JobConfig) -> DataFrame:
    """AWS only, untested here (no Kinesis connector outside Glue): the stream through Glue's
    Kinesis source (column ``data``: the payload), each payload validated
    with ``alleycat.domain.events.parse_event``; invalid ones are dropped (Firehose keeps them
    under processing-failed). Yields the raw zone's columns."""
    from alleycat.domain.events import InvalidEvent, parse_event

    frame = (
        spark.readStream.format("kinesis")
        .option("streamARN", config.kinesis_stream_arn)
        .option("startingPosition", "TRIM_HORIZON")
        .load()
    )

    @F.udf("boolean")
    def valid(payload: str) -> bool:
        try:
            parse_event(payload)
        except InvalidEvent:
            return False
        return True

    payload = F.col("data").cast("string")
    fields = F.from_json(payload, PAYLOAD_DDL)
    return frame.where(valid(payload)).select(
        fields["uuid"].alias("uuid"),
        fields["event"].alias("event"),
        fields["deviceTimestamp"].alias("device_timestamp"),
        fields["second"].alias("second"),
        fields["raceId"].alias("race_id"),
        fields["name"].alias("name"),
        fields["racerId"].alias("racer_id"),
        fields["classId"].alias("class_id"),
        fields["cadence"].alias("cadence"),
        fields["resistance"].alias("resistance"),
    )


# --- The rules, in Spark ----------------------------------------------------------------------------


def output_milli(cadence: Column, resistance: Column) -> Column:
    """``alleycat.domain.events.output_milli``: the same float operations, rounded half to even."""
    return F.bround((cadence + 35) * (resistance + 65) * 10).cast("long")


def winning_points(raw: DataFrame) -> DataFrame:
    """One row per data point key among ``raw``: the winning message (``Telemetry.beats``)."""
    key = ("race_id", "racer_id", "second")
    order = Window.partitionBy(*key).orderBy(F.col("device_timestamp").desc(), F.col("uuid").desc())
    milli = output_milli(F.col("cadence"), F.col("resistance"))
    event_order = F.concat(F.lpad(F.col("device_timestamp").cast("string"), 13, "0"), F.lit("-"), F.col("uuid"))
    points = (
        raw.withColumn("final_seen", F.max(F.col("event") == "final").over(Window.partitionBy(*key)))
        .withColumn("_rank", F.row_number().over(order))
        .where(F.col("_rank") == 1)
        .withColumn("output_milli", milli)
        .withColumn("output", milli / 1000)
        .withColumn("event_order", event_order)
        .withColumn("dt", F.from_unixtime(F.col("race_id") * RACE_SECONDS, "yyyy-MM-dd"))
    )
    return conform(points, catalog.TELEMETRY_COLUMNS)


@F.udf(DoubleType())
def _avg_output(total_milli: int, seconds: int) -> float:
    return RacerScore(racer_id=0, name="", class_id=0, total_milli=total_milli, seconds=seconds).avg_output


def race_results(points: DataFrame, previous: DataFrame | None, updated_at: int) -> DataFrame:
    """One row per (race_id, racer_id) from all of those races' ``telemetry`` rows; ``previous``
    (race_id, racer_id, finished) keeps a racer finished once their final arrived.

    A race is (race_id, class_id); a racer rides one class per slot, so (race_id, racer_id) names a
    racer in one race (the table's record key) and ``class_id`` is that race's class."""
    results = points.groupBy("race_id", "racer_id").agg(
        F.max_by("class_id", "second").alias("class_id"),
        F.max_by("name", "second").alias("name"),
        F.sum("output_milli").alias("total_milli"),
        F.max("output_milli").alias("max_milli"),
        F.count(F.lit(1)).alias("seconds"),
        F.max("second").alias("last_second"),
        F.max("final_seen").alias("finished"),
        F.first("dt").alias("dt"),
    )
    if previous is not None:
        results = results.join(
            previous.withColumnRenamed("finished", "was_finished"), ["race_id", "racer_id"], "left"
        ).withColumn("finished", F.col("finished") | F.coalesce(F.col("was_finished"), F.lit(False)))
    results = (
        results.withColumn("total_output", F.col("total_milli") / 1000)
        .withColumn("max_output", F.col("max_milli") / 1000)
        .withColumn("avg_output", _avg_output("total_milli", "seconds"))
        .withColumn("updated_at", F.lit(updated_at))
    )
    return conform(results, catalog.RACE_RESULTS_COLUMNS)


def racer_best_candidates(points: DataFrame) -> DataFrame:
    """The best output per (racer_id, class_id, second) among ``points``."""
    bests = points.groupBy("racer_id", "class_id", "second").agg(F.max("output_milli").alias("output_milli"))
    return conform(bests.withColumn("output", F.col("output_milli") / 1000), catalog.RACER_BESTS_COLUMNS)


def conform(df: DataFrame, columns: tuple[catalog.Column, ...]) -> DataFrame:
    """Exactly the catalog's columns, in order, with the catalog's types."""
    return df.select([F.col(c.name).cast(c.type).alias(c.name) for c in columns])


# --- Hudi -------------------------------------------------------------------------------------------


def hudi_options(target: CatalogTable, glue_database: str = "") -> dict[str, str]:
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
    df.write.format("hudi").options(**hudi_options(target, glue_database)).mode("append").save(target.path)


def exists(target: CatalogTable) -> bool:
    fs, path = lake.filesystem(target.location)
    return fs.get_file_info(f"{path}/.hoodie/hoodie.properties").is_file


def read_table(spark: SparkSession, target: CatalogTable) -> DataFrame:
    """The table's snapshot (latest committed rows), catalog columns only."""
    return spark.read.format("hudi").load(target.path).select(target.column_names)


# --- A micro-batch ---------------------------------------------------------------------------------


def process_batch(raw: DataFrame, batch_id: int, config: JobConfig) -> None:
    """Upsert one micro-batch of raw rows into the three tables (idempotent: safe to replay)."""
    started = time.monotonic()
    spark = raw.sparkSession
    raw = raw.persist()
    try:
        rows = raw.count()
        if rows == 0:
            return
        telemetry = config.table("telemetry")
        points = winning_points(raw).persist()
        touched = points.select(*RACE_KEY, "dt").distinct().collect()  # the races (race_id, class_id) touched
        lowered = lowered_bests(points, races_of(spark, telemetry, touched)) if exists(telemetry) else []
        upsert(points, telemetry, config.glue_database)
        points.unpersist()
        races = races_of(spark, telemetry, touched).persist()
        results_table = config.table("race_results")
        previous = None
        if exists(results_table):
            previous = of_races(spark, read_table(spark, results_table), touched).select(
                "race_id", "racer_id", "finished"
            )
        upsert(race_results(races, previous, int(time.time() * 1000)), results_table, config.glue_database)
        upsert(racer_best_candidates(races), config.table("racer_bests"), config.glue_database)
        races.unpersist()
        if lowered:
            recompute_bests(spark, config, lowered)
        classes = sorted({r.class_id for r in touched})
        if config.export_bests:
            export_bests(spark, config, classes)
        log.info(
            "batch committed",
            extra={
                "batch_id": batch_id,
                "raw_rows": rows,
                "races": len({(r.race_id, r.class_id) for r in touched}),
                "classes": classes,
                "bests_recomputed": len(lowered),
                "seconds": round(time.monotonic() - started, 2),
            },
        )
    finally:
        raw.unpersist()


def races_of(spark: SparkSession, telemetry: CatalogTable, touched: list[Row]) -> DataFrame:
    """The stored telemetry of the races in ``touched`` (rows with race_id, class_id, dt)."""
    return of_races(spark, read_table(spark, telemetry), touched)


def of_races(spark: SparkSession, rows: DataFrame, touched: list[Row]) -> DataFrame:
    """The rows of ``rows`` (a table partitioned by dt, class_id) that belong to exactly the races
    (race_id, class_id) in ``touched``: the partition filters prune the files, the semi-join keeps
    only the touched pairs (a batch touching (r1, c1) and (r2, c2) does not read (r1, c2))."""
    races = spark.createDataFrame(sorted({(r.race_id, r.class_id) for r in touched}), "race_id bigint, class_id int")
    pruned = rows.where(
        F.col("dt").isin(sorted({r.dt for r in touched}))
        & F.col("class_id").isin(sorted({r.class_id for r in touched}))
        & F.col("race_id").isin(sorted({r.race_id for r in touched}))
    )
    return pruned.join(F.broadcast(races), list(RACE_KEY), "left_semi")


def lowered_bests(points: DataFrame, stored: DataFrame) -> list[Row]:
    """(racer_id, class_id, second) where a new winner replaces a stored one with a lower output.

    Bests are upserted "only if higher", which is exact while winners only rise; these rare keys
    are recomputed from the whole history instead (``recompute_bests``)."""
    key = ["race_id", "racer_id", "second"]
    before = stored.select(*key, F.col("event_order").alias("was_order"), F.col("output_milli").alias("was_milli"))
    replaced = points.join(before, key).where(
        (F.col("event_order") > F.col("was_order")) & (F.col("output_milli") < F.col("was_milli"))
    )
    return replaced.select("racer_id", "class_id", "second").distinct().collect()


def recompute_bests(spark: SparkSession, config: JobConfig, keys: list[Row]) -> None:
    """Replace the bests at ``keys`` with the maximum over all stored telemetry (delete, then insert:
    the ordering field would refuse a lower value)."""
    names = ["racer_id", "class_id", "second"]
    wanted = spark.createDataFrame([tuple(k) for k in keys], "racer_id int, class_id int, second int")
    history = read_table(spark, config.table("telemetry")).where(
        F.col("class_id").isin(sorted({k.class_id for k in keys}))
        & F.col("racer_id").isin(sorted({k.racer_id for k in keys}))
        & F.col("second").isin(sorted({k.second for k in keys}))
    )
    exact = racer_best_candidates(history.join(wanted, names, "left_semi"))
    bests = config.table("racer_bests")
    stale = read_table(spark, bests).join(wanted, names, "left_semi")
    stale.write.format("hudi").options(**hudi_options(bests, config.glue_database)).option(
        "hoodie.datasource.write.operation", "delete"
    ).mode("append").save(bests.path)
    upsert(exact, bests, config.glue_database)


def export_bests(spark: SparkSession, config: JobConfig, classes: list[int]) -> None:
    bests = read_table(spark, config.table("racer_bests")).where(F.col("class_id").isin(classes))
    by_class: dict[int, list[tuple[int, int, float]]] = {c: [] for c in classes}
    for row in bests.select("class_id", "racer_id", "second", "output").toLocalIterator():
        by_class[row.class_id].append((row.racer_id, row.second, row.output))
    for class_id, rows in by_class.items():
        bests_export.write(config.layout, class_id, rows)


# --- Running ----------------------------------------------------------------------------------------


def start(spark: SparkSession, config: JobConfig) -> StreamingQuery:
    """Start the streaming query (modes ``stream`` and ``once``)."""
    source = kinesis_stream(spark, config) if config.source == "kinesis" else raw_stream(spark, config)
    writer = (
        source.writeStream.queryName("alleycat-lake")
        .foreachBatch(lambda batch, batch_id: process_batch(batch, batch_id, config))
        .option("checkpointLocation", config.checkpoint)
    )
    if config.mode == "once":
        return writer.trigger(availableNow=True).start()
    return writer.trigger(processingTime=f"{config.trigger_seconds} seconds").start()


def backfill(spark: SparkSession, config: JobConfig) -> None:
    """Reprocess the whole raw zone in one batch (no checkpoint): the same tables as streaming."""
    raw = spark.read.schema(raw_table_ddl(config.lake_uri)).parquet(lake.resolve(config.layout.raw))
    process_batch(raw, -1, config)


def run(spark: SparkSession, config: JobConfig) -> None:
    """Run ``config.mode`` to completion (``stream``: until the query stops or is interrupted)."""
    if config.mode == "backfill":
        backfill(spark, config)
        return
    query = start(spark, config)
    try:
        query.awaitTermination()
    finally:
        query.stop()


ARGUMENTS = {  # name -> default; Glue passes them as --name value
    "lake_uri": None,
    "mode": "stream",
    "source": "raw",
    "trigger_seconds": "60",
    "max_files_per_trigger": "1000",
    "kinesis_stream_arn": "",
    "glue_database": "",
}


def job_arguments(argv: list[str]) -> dict[str, str]:
    """The job's arguments: Glue's ``getResolvedOptions`` in AWS, argparse locally."""
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        parser = argparse.ArgumentParser(prog="glue_jobs.telemetry_job")
        for name, default in ARGUMENTS.items():
            parser.add_argument(f"--{name}", default=default, required=default is None)
        return vars(parser.parse_args(argv[1:]))
    present = ["lake_uri", *(name for name in ARGUMENTS if name != "lake_uri" and f"--{name}" in argv)]
    return {**ARGUMENTS, **getResolvedOptions(argv, present)}


def main(argv: list[str] | None = None) -> int:
    logs.setup(os.environ.get("ALLEYCAT_LOG_LEVEL", "INFO"))
    args = job_arguments(sys.argv if argv is None else argv)
    config = JobConfig(
        lake_uri=args["lake_uri"],
        mode=args["mode"],
        source=args["source"],
        trigger_seconds=int(args["trigger_seconds"]),
        max_files_per_trigger=int(args["max_files_per_trigger"]),
        kinesis_stream_arn=args["kinesis_stream_arn"],
        glue_database=args["glue_database"],
    )
    run(spark_session(), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
