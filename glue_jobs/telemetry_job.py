"""The Glue streaming job: raw telemetry -> the Hudi tables ``telemetry``, ``race_results``, ``racer_bests``.

This file is the job's script (the template's ``GLUE_SCRIPT``): the driver that reads the job
arguments and runs the micro-batches. One job runs in AWS Glue 5.1 (Spark 3.5.6, Hudi 1.0.2) and
locally on plain Spark (local[2]); the rest of ``glue_jobs`` holds its parts: ``config`` (the job
arguments as a value), ``session`` (the Spark session), ``sources`` (the raw zone, Kinesis),
``transforms`` (the rules in Spark), ``hudi_tables`` (writes and reads), ``batch`` (one
micro-batch), ``bests_export``, ``raw_zone`` and ``snapshots`` (the lake's files without Spark).

* AWS: job parameters ``--datalake-formats hudi``, ``--enable-glue-datacatalog true``,
  ``--conf spark.serializer=org.apache.spark.serializer.KryoSerializer``,
  ``--extra-py-files`` a zip of ``alleycat/`` and ``glue_jobs/``, and the job arguments
  ``--lake_uri s3://bucket --glue_database alleycat`` (Hive sync of the Hudi tables to the Glue
  Data Catalog), optionally ``--source kinesis --kinesis_stream_arn arn:...``. ``awsglue`` is
  imported only when present.
* Locally: ``alleycat lake`` (or ``python -m glue_jobs.telemetry_job --lake_uri ...``).

Structured Streaming over the source (``sources``), micro-batches every ``trigger_seconds``,
checkpointed under ``LakeLayout.checkpoints``: a restarted job goes on from the last committed
batch, and a batch replayed after a crash is idempotent (``batch.process_batch``), so nothing is
lost or counted twice. ``mode="once"`` processes what is there now (availableNow) and stops;
``mode="backfill"`` reprocesses the whole raw zone in one batch without the checkpoint and yields
the same tables.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import cast, get_args

from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from alleycat import logs
from alleycat.errors import ConfigError
from alleycat.settings import LOG_LEVEL, Settings
from glue_jobs.batch import process_batch
from glue_jobs.config import JobConfig, Mode, Source
from glue_jobs.session import spark_session
from glue_jobs.sources import kinesis_stream, raw_snapshot, raw_stream


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
    process_batch(raw_snapshot(spark, config), -1, config)


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
    "results_table": "",
}


def job_arguments(argv: list[str]) -> dict[str, str]:
    """The job's arguments: Glue's ``getResolvedOptions`` in AWS, argparse locally."""
    try:
        from awsglue.utils import getResolvedOptions  # type: ignore[import-not-found]  # only inside AWS Glue
    except ImportError:
        parser = argparse.ArgumentParser(prog="glue_jobs.telemetry_job")
        for name, default in ARGUMENTS.items():
            parser.add_argument(f"--{name}", default=default, required=default is None)
        return vars(parser.parse_args(argv[1:]))
    present = ["lake_uri", *(name for name in ARGUMENTS if name != "lake_uri" and f"--{name}" in argv)]
    return {**ARGUMENTS, **getResolvedOptions(argv, present)}


def _whole(args: dict[str, str], name: str) -> int:
    try:
        return int(args[name])
    except ValueError:
        raise ConfigError(f"--{name} {args[name]!r} is not a whole number") from None


def job_config(args: dict[str, str], settings: Settings) -> JobConfig:
    """The run's configuration from the job arguments; the lake's local root from ``settings``."""
    if args["mode"] not in get_args(Mode):
        raise ConfigError(f"--mode {args['mode']!r}: one of {', '.join(get_args(Mode))}")
    if args["source"] not in get_args(Source):
        raise ConfigError(f"--source {args['source']!r}: one of {', '.join(get_args(Source))}")
    return JobConfig(
        lake_uri=args["lake_uri"],
        local_root=settings.local_s3_root,
        mode=cast(Mode, args["mode"]),
        source=cast(Source, args["source"]),
        trigger_seconds=_whole(args, "trigger_seconds"),
        max_files_per_trigger=_whole(args, "max_files_per_trigger"),
        kinesis_stream_arn=args["kinesis_stream_arn"],
        glue_database=args["glue_database"],
        results_table=args["results_table"],
    )


def main(argv: list[str] | None = None) -> int:
    """The job's edge: settings from the environment once (the job logs at INFO unless
    ALLEYCAT_LOG_LEVEL says otherwise: its batch lines are its progress), then the run."""
    settings = Settings.from_env({LOG_LEVEL: "INFO", **os.environ})
    logs.setup(settings.log_level)
    config = job_config(job_arguments(sys.argv if argv is None else argv), settings)
    run(spark_session(), config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
