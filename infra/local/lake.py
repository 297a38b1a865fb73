"""The local lake path: Kinesis (or the Kafka topic) -> the local Firehose -> raw Parquet -> the Glue
job -> Hudi.

* ``run_streaming``: the Firehose (``infra.local.firehose``) and/or the streaming Glue job
  (``glue_jobs.telemetry_job``) until stopped. The stack runs them as two workers, ``firehose``
  and ``lake``, so each can crash and come back alone, as the two services do. The job's
  ``ready_file`` holds its pid while it streams.
* ``process_once``: deliver what is on the stream now and run the job once over the new raw files
  (availableNow): the demo and the tests. ``backfill`` reprocesses the whole raw zone instead.
* ``deliver_once``: only the Firehose part of ``process_once``.

With the Kafka transport the Firehose reads the topic (Firehose with Amazon MSK as its source);
the raw zone, and everything after it, is the same.

Everything runs on the stack's lake (``infra.local.environment.stack_lake``). After each batch the
local Glue Data Catalog registers the new partitions (``infra.local.glue_catalog``), as the Glue
job's Hive sync does on AWS, so Trino sees them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from alleycat.errors import StackError
from alleycat.settings import Settings
from alleycat.support.files import atomic_write_text
from glue_jobs.config import JobConfig, Mode
from infra.local import glue_catalog, trino
from infra.local.environment import stack_lake
from infra.local.firehose.delivery import DeliveryStream

log = logging.getLogger("alleycat.lake")


def ready_file(settings: Settings) -> Path:
    return settings.home / "run" / "lake.ready"


def sync_catalog(settings: Settings) -> int:
    """Register the lake's tables and partitions in the local Glue Data Catalog (Trino's metastore)."""
    return glue_catalog.sync(stack_lake(settings), trino.metastore_dir(settings))


def job_config(settings: Settings, mode: Mode, trigger_seconds: int | None = None) -> JobConfig:
    lake = stack_lake(settings)
    return JobConfig(
        lake_uri=lake.uri,
        local_root=lake.local_root,
        mode=mode,
        trigger_seconds=settings.lake_trigger_seconds if trigger_seconds is None else trigger_seconds,
        results_table=settings.table,
    )


CATCH_UP_TIMEOUT_S = 120.0


def deliver_once(settings: Settings) -> int:
    """Deliver every record now on the stream (or topic) to the raw zone. Returns the records read."""
    delivery = DeliveryStream(settings)
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    total = 0
    try:
        # a Kafka consumer reads nothing until it has joined its group: read until caught up
        while (read := delivery.poll_once()) or not delivery.source.caught_up():
            total += read
            if time.monotonic() > deadline:
                raise StackError(f"the Firehose did not catch up with {delivery.source.name} in time")
        delivery.flush()
    finally:
        delivery.source.close()
    return total


def process_once(settings: Settings) -> int:
    """Deliver what is on the stream, then run the job once over the new raw files. Returns the records read."""
    # Spark is imported only by the commands that run the job (pyspark is the `local` extra).
    from glue_jobs import session, telemetry_job

    delivered = deliver_once(settings)
    telemetry_job.run(session.local_spark_session(), job_config(settings, "once"))
    sync_catalog(settings)
    return delivered


def backfill(settings: Settings) -> None:
    """Reprocess the whole raw zone in one batch (no checkpoint)."""
    from glue_jobs import session, telemetry_job  # Spark: see process_once

    telemetry_job.run(session.local_spark_session(), job_config(settings, "backfill"))
    sync_catalog(settings)


def run_streaming(
    settings: Settings,
    trigger_seconds: int,
    buffer_seconds: float,
    buffer_mb: float,
    stop: threading.Event,
    firehose: bool = True,
    job: bool = True,
) -> None:
    """The Firehose (in a thread) and/or the streaming job until ``stop`` is set (or Ctrl-C); both
    stop cleanly (flush, checkpoint). Raises ``StackError`` if the job fails."""
    delivery = None
    if firehose:
        stream = DeliveryStream(settings, buffer_seconds=buffer_seconds, buffer_mb=buffer_mb)
        delivery = threading.Thread(target=stream.run, args=(stop,), name="firehose", daemon=True)
        delivery.start()
    try:
        if job:
            _stream_job(settings, trigger_seconds, stop)
        else:
            while not stop.wait(1.0):
                pass
    except KeyboardInterrupt:  # Ctrl-C: stop as on SIGTERM (flush, checkpoint)
        pass
    finally:
        stop.set()
        if delivery is not None:
            delivery.join(timeout=30)


def _stream_job(settings: Settings, trigger_seconds: int, stop: threading.Event) -> None:
    from glue_jobs import session, telemetry_job  # Spark: see process_once

    spark = session.local_spark_session()
    query = telemetry_job.start(spark, job_config(settings, "stream", trigger_seconds))
    ready = ready_file(settings)
    ready.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(ready, str(os.getpid()))  # a file left by a killed job names a dead pid
    log.info("lake streaming", extra={"lake": settings.lake_uri, "triggerSeconds": trigger_seconds})
    try:
        while query.isActive and not stop.is_set():
            sync_catalog(settings)  # new raw and Hudi partitions (a listing per table: cheap)
            stop.wait(1.0)
    finally:
        ready.unlink(missing_ok=True)
        query.stop()
        spark.stop()
    if query.exception():
        raise StackError(f"the lake job failed: {query.exception()}")
