"""``alleycat lake``: the local lake path, Kinesis -> Firehose -> raw Parquet -> Glue job -> Hudi.

* ``alleycat lake`` runs the local Firehose (``infra.local.firehose``) in a thread and the Glue job
  (``glue_jobs.telemetry_job``, streaming) until interrupted (Ctrl-C, SIGTERM); ``--only firehose``
  or ``--only job`` runs one of them.
* ``alleycat lake --once`` delivers what is on the stream now, runs the job once over the new raw
  files (availableNow) and exits: the demo and the tests. ``--backfill`` reprocesses the whole
  raw zone instead.
* ``alleycat lake status`` shows the raw zone, each Hudi table's timeline and the freshness.

``alleycat up`` starts ``alleycat lake --only firehose`` and ``alleycat lake --only job`` in the
background, as two workers (``infra.local.workers``).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from typing import Any

from alleycat.resources import FIREHOSE_BUFFER_MB
from alleycat.settings import Settings
from infra.local import lake, lake_contents, stack


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    mode.add_argument("--only", choices=("firehose", "job"), help="run only the Firehose or only the Glue job")
    # the defaults come from Settings, which register cannot see: None here, resolved in the command
    p.add_argument(
        "--trigger-seconds",
        type=int,
        default=None,
        help="micro-batch interval (default: $ALLEYCAT_LAKE_TRIGGER_SECONDS, else 60)",
    )
    p.add_argument(
        "--buffer-seconds",
        type=float,
        default=None,
        help="Firehose interval hint (default: $ALLEYCAT_FIREHOSE_BUFFER_SECONDS, else 60)",
    )
    p.add_argument("--buffer-mb", type=float, default=FIREHOSE_BUFFER_MB, help="Firehose size hint")
    p.add_argument("--json", action="store_true", help="status as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    # the lake is the local stack's: its Kinesis, its directory for S3, whatever the shell points at
    stack.apply_env(settings)
    if args.action == "status":
        report = lake_contents.status(settings)
        print(json.dumps(report, indent=2) if args.json else _format_status(report))
    elif args.backfill:
        lake.backfill(settings)
    elif args.once:
        delivered = lake.process_once(settings)
        print(f"delivered {delivered} record(s); tables: {lake_contents.row_counts(settings)}")
    else:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        lake.run_streaming(
            settings,
            trigger_seconds=settings.lake_trigger_seconds if args.trigger_seconds is None else args.trigger_seconds,
            buffer_seconds=settings.firehose_buffer_seconds if args.buffer_seconds is None else args.buffer_seconds,
            buffer_mb=args.buffer_mb,
            stop=stop,
            firehose=args.only != "job",
            job=args.only != "firehose",
        )
    return 0


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
