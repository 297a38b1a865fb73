"""Where the job's rows come from: the raw landing zone (streaming, once, backfill) or Kinesis.

The raw zone is Firehose's Parquet (``RAW_SCHEMA``) under ``LakeLayout.raw/dt=YYYY-MM-DD/hour=HH``,
the partition columns read from the paths as strings (as Glue declares them). A stream reads new
files in micro-batches of at most ``max_files_per_trigger`` files; a backfill reads the whole zone
as one batch. Every source yields the raw table's columns (the catalog's ``raw_telemetry``).
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from alleycat.domain.events import InvalidEvent, parse_event
from glue_jobs.config import JobConfig

PAYLOAD_DDL = (  # the wire format (alleycat.domain.events), as Spark parses it
    "uuid string, event string, deviceTimestamp bigint, second int, raceId bigint, name string, "
    "racerId int, classId int, cadence double, resistance double"
)


def raw_table_ddl(config: JobConfig) -> str:
    """The raw table's columns (partition columns included) as a Spark DDL string."""
    return config.table("raw_telemetry").ddl()


def raw_stream(spark: SparkSession, config: JobConfig) -> DataFrame:
    """New raw Parquet files as a stream (partition columns ``dt``/``hour`` from the paths)."""
    raw = config.table("raw_telemetry").path
    if not raw.startswith("s3://"):
        Path(raw).mkdir(parents=True, exist_ok=True)  # the file source needs the directory
    return (
        spark.readStream.schema(raw_table_ddl(config))
        .option("maxFilesPerTrigger", config.max_files_per_trigger)
        .parquet(raw)
    )


def raw_snapshot(spark: SparkSession, config: JobConfig) -> DataFrame:
    """The whole raw zone as one batch (a backfill)."""
    return spark.read.schema(raw_table_ddl(config)).parquet(config.table("raw_telemetry").path)


def kinesis_stream(spark: SparkSession, config: JobConfig) -> DataFrame:
    """AWS only, untested here (no Kinesis connector outside Glue): the stream through Glue's
    Kinesis source (column ``data``: the payload), each payload validated
    with ``alleycat.domain.events.parse_event``; invalid ones are dropped (Firehose keeps them
    under processing-failed). Yields the raw zone's columns."""
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
