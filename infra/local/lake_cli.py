"""``alleycat lake``: the local lake path, Kinesis -> Firehose -> raw Parquet -> Glue job -> Hudi.

* ``alleycat lake`` runs the local Firehose (``infra.local.firehose.DeliveryStream``) in a thread
  and the Glue job (``glue_jobs.telemetry_job``, streaming) until interrupted (Ctrl-C, SIGTERM).
* ``alleycat lake --once`` delivers what is on the stream now, runs the job once over the new raw
  files (availableNow) and exits: the demo and the tests. ``--backfill`` reprocesses the whole
  raw zone instead.
* ``alleycat lake status`` shows the raw zone, each Hudi table's timeline and the freshness.

``process_spec(settings)`` is how ``alleycat up`` starts ``alleycat lake`` in the background;
``row_counts`` and ``top_of_race`` (the top of one race: a raceId and a classId) are what the demo prints.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

from alleycat import lake
from alleycat.domain.events import RaceKey
from alleycat.domain.scoring import RacerScore, rank
from alleycat.resources import FIREHOSE_BUFFER_MB, FIREHOSE_BUFFER_SECONDS, HUDI_TABLES, LakeLayout
from alleycat.settings import Settings
from glue_jobs import raw_zone, snapshots
from glue_jobs.catalog import table
from infra.local import stack
from infra.local.processes import ProcessSpec

log = logging.getLogger("alleycat.lake")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lake",
        help="run the local Firehose and the Glue job into the Hudi tables (`lake status`: what is there)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("action", nargs="?", choices=("run", "status"), default="run")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="deliver what is on the stream, process it, exit")
    mode.add_argument("--backfill", action="store_true", help="reprocess the whole raw zone, exit")
    trigger = int(os.environ.get("ALLEYCAT_LAKE_TRIGGER_SECONDS", 60))
    buffer_s = float(os.environ.get("ALLEYCAT_FIREHOSE_BUFFER_SECONDS", FIREHOSE_BUFFER_SECONDS))
    p.add_argument(
        "--trigger-seconds",
        type=int,
        default=trigger,
        help=f"micro-batch interval (default {trigger}: $ALLEYCAT_LAKE_TRIGGER_SECONDS or 60)",
    )
    p.add_argument(
        "--buffer-seconds",
        type=float,
        default=buffer_s,
        help=f"Firehose interval hint (default {buffer_s:g}: $ALLEYCAT_FIREHOSE_BUFFER_SECONDS or 60)",
    )
    p.add_argument("--buffer-mb", type=float, default=FIREHOSE_BUFFER_MB, help="Firehose size hint")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=_lake)


def ready_file(settings: Settings) -> Path:
    return settings.home / "run" / "lake.ready"


def process_spec(settings: Settings) -> ProcessSpec:
    """``alleycat lake`` as a background process of the local stack (healthy once streaming)."""
    ready = ready_file(settings)
    return ProcessSpec(
        name="lake",
        argv=[sys.executable, "-m", "alleycat.cli", "lake"],
        port=None,
        healthy=ready.exists,
        env=stack.env_vars(settings),
        start_timeout_s=180.0,
    )


def _lake(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    stack.apply_env(settings)
    if args.action == "status":
        report = status(settings)
        print(json.dumps(report, indent=2) if args.json else _format_status(report))
        return 0
    from glue_jobs import telemetry_job

    if args.backfill:
        config = telemetry_job.JobConfig(lake_uri=settings.lake_uri, mode="backfill")
        telemetry_job.run(telemetry_job.local_spark_session(), config)
    elif args.once:
        delivered = deliver_once(settings)
        config = telemetry_job.JobConfig(lake_uri=settings.lake_uri, mode="once")
        telemetry_job.run(telemetry_job.local_spark_session(), config)
        print(f"delivered {delivered} record(s); tables: {row_counts(settings)}")
    else:
        run_streaming(settings, args.trigger_seconds, args.buffer_seconds, args.buffer_mb)
    return 0


def deliver_once(settings: Settings) -> int:
    """Deliver every record now on the stream to the raw zone. Returns the records read."""
    from infra.local.firehose import DeliveryStream

    delivery = DeliveryStream(settings)
    total = 0
    while read := delivery.poll_once():
        total += read
    delivery.flush()
    return total


def run_streaming(settings: Settings, trigger_seconds: int, buffer_seconds: float, buffer_mb: float) -> None:
    """The Firehose and the streaming job until SIGINT/SIGTERM; both stop cleanly (flush, checkpoint)."""
    from glue_jobs import telemetry_job
    from infra.local.firehose import DeliveryStream

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    delivery = DeliveryStream(settings, buffer_seconds=buffer_seconds, buffer_mb=buffer_mb)
    firehose = threading.Thread(target=delivery.run, args=(stop,), name="firehose", daemon=True)
    firehose.start()
    spark = telemetry_job.local_spark_session()
    config = telemetry_job.JobConfig(lake_uri=settings.lake_uri, trigger_seconds=trigger_seconds)
    query = telemetry_job.start(spark, config)
    ready = ready_file(settings)
    ready.parent.mkdir(parents=True, exist_ok=True)
    ready.touch()
    log.info("lake streaming", extra={"lake": settings.lake_uri, "triggerSeconds": trigger_seconds})
    try:
        while query.isActive and not stop.is_set():
            stop.wait(1.0)
    except KeyboardInterrupt:
        stop.set()
    finally:
        ready.unlink(missing_ok=True)
        stop.set()
        firehose.join(timeout=30)
        query.stop()
        spark.stop()
    if query.exception():
        raise RuntimeError(f"the lake job failed: {query.exception()}")


# --- What is in the lake (hudi-rs, no Spark) ----------------------------------------------------


def row_counts(settings: Settings) -> dict[str, int]:
    """Rows in each Hudi table's snapshot (0 for a table not written yet)."""
    counts = {}
    for name in HUDI_TABLES:
        target = table(settings.lake_uri, name)
        counts[name] = snapshots.read(target, target.record_key[:1]).num_rows if _written(target.path) else 0
    return counts


def top_of_race(
    settings: Settings, race_id: int | None = None, class_id: int | None = None, n: int = 3
) -> tuple[RaceKey | None, list[dict[str, Any]]]:
    """The top ``n`` of one race from ``race_results``, ranked like the domain (highest total, ties
    to the lower racerId). A race is a raceId and a classId (every class races in each slot); the
    class defaults to the lowest one present (in ``race_id`` when given), the raceId to that class's
    latest race. Returns (the race's RaceKey, rows); (None, []) when there is no such race."""
    target = table(settings.lake_uri, "race_results")
    if not _written(target.path):
        return None, []
    rows = snapshots.read(target).to_pylist()
    if class_id is None:
        class_id = min((r["class_id"] for r in rows if race_id is None or r["race_id"] == race_id), default=None)
    if race_id is None:
        race_id = max((r["race_id"] for r in rows if r["class_id"] == class_id), default=None)
    racers = {r["racer_id"]: r for r in rows if (r["race_id"], r["class_id"]) == (race_id, class_id)}
    if not racers:
        return None, []
    scores = [RacerScore(r["racer_id"], r["name"], r["class_id"], r["total_milli"]) for r in racers.values()]
    return RaceKey(race_id, class_id), [
        {
            "rank": place,
            "racerId": s.racer_id,
            "name": s.name,
            "classId": s.class_id,
            "totalOutput": racers[s.racer_id]["total_output"],
            "seconds": racers[s.racer_id]["seconds"],
            "finished": racers[s.racer_id]["finished"],
        }
        for place, s in enumerate(rank(scores)[:n], start=1)
    ]


def _written(path: str) -> bool:
    return (Path(path) / ".hoodie" / "hoodie.properties").is_file()


def status(settings: Settings) -> dict[str, Any]:
    """Raw files, failed records, each Hudi table's timeline, and freshness."""
    layout = LakeLayout(settings.lake_uri)
    now_ms = int(time.time() * 1000)
    files = raw_zone.list_files(layout)
    failed_root = Path(lake.resolve(layout.processing_failed))
    report: dict[str, Any] = {
        "lake": settings.lake_uri,
        "raw": {
            "files": len(files),
            "bytes": sum(f.size for f in files),
            "newestAgeS": round((now_ms - files[-1].mtime_ms) / 1000, 1) if files else None,
        },
        "processingFailedFiles": sum(1 for p in failed_root.rglob("*") if p.is_file()) if failed_root.is_dir() else 0,
        "tables": {},
    }
    for name in HUDI_TABLES:
        target = table(settings.lake_uri, name)
        if not _written(target.path):
            report["tables"][name] = {"commits": 0}
            continue
        commits = snapshots.commits(target)
        report["tables"][name] = {
            "commits": len(commits),
            "firstCommit": commits[0].instant if commits else None,
            "lastCommit": commits[-1].instant if commits else None,
            "lastCommitAgeS": round((now_ms - commits[-1].epoch_ms) / 1000, 1) if commits else None,
            "rows": snapshots.read(target, target.record_key[:1]).num_rows,
        }
    telemetry = table(settings.lake_uri, "telemetry")
    if _written(telemetry.path):
        newest = max(snapshots.read(telemetry, ["device_timestamp"]).column(0).to_pylist(), default=None)
        last_commit_ms = max((c.epoch_ms for c in snapshots.commits(telemetry)), default=None)
        report["freshness"] = {
            "newestEventAgeS": round((now_ms - newest) / 1000, 1) if newest else None,
            "rawFilesSinceLastCommit": sum(1 for f in files if last_commit_ms and f.mtime_ms > last_commit_ms),
        }
    return report


def _format_status(report: dict[str, Any]) -> str:
    raw = report["raw"]
    lines = [
        f"lake {report['lake']}",
        f"  raw: {raw['files']} file(s), {raw['bytes'] / 1024:.0f} KiB, newest {raw['newestAgeS']} s old",
        f"  processing-failed: {report['processingFailedFiles']} file(s)",
    ]
    for name, t in report["tables"].items():
        if not t["commits"]:
            lines.append(f"  {name:<13} not written yet")
        else:
            lines.append(
                f"  {name:<13} {t['rows']} rows, {t['commits']} commit(s) on the timeline "
                f"({t['firstCommit']} .. {t['lastCommit']}), last {t['lastCommitAgeS']} s ago"
            )
    if "freshness" in report:
        f = report["freshness"]
        lines.append(
            f"  freshness: newest event {f['newestEventAgeS']} s old; "
            f"{f['rawFilesSinceLastCommit']} raw file(s) newer than the last commit"
        )
    return "\n".join(lines)
