"""``alleycat up | down | status | env``: the local stack (``infra.local.stack``)."""

from __future__ import annotations

import argparse
import json
import shlex
import time
from datetime import UTC, datetime
from typing import Any

from alleycat.errors import UsageError
from alleycat.settings import TRANSPORTS, Settings
from infra.local import stack
from infra.local.environment import shell_env


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="start the local stack (servers, resources, API, consumers, lake); idempotent")
    p.add_argument("--no-lake", action="store_true", help="do not start the Firehose + Glue job (Spark)")
    p.add_argument("--servers-only", action="store_true", help="only Kinesis and DynamoDB, and the resources")
    p.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=None,
        help="what carries telemetry to the Aggregator and the lake's Firehose: kafka also starts an Apache "
        "Kafka broker and creates its topic (default: $ALLEYCAT_TRANSPORT, else kinesis)",
    )
    p.set_defaults(func=up)
    p = sub.add_parser("down", help="stop the processes `up` started (data stays)")
    p.set_defaults(func=down)
    p = sub.add_parser(
        "status",
        help="each component's pid, port and health, the stream's shards, and how far behind each consumer is",
    )
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=2.0,
        default=None,
        metavar="SECONDS",
        help="repeat every SECONDS (default 2) until interrupted",
    )
    p.set_defaults(func=status)
    p = sub.add_parser(
        "env",
        help='print `export` lines pointing boto3 at the local stack: eval "$(alleycat env)"',
        description=(
            "Ports and names come from ALLEYCAT_KINESIS_PORT (4567), ALLEYCAT_DYNAMODB_PORT (8000), "
            "ALLEYCAT_API_PORT (8080), ALLEYCAT_HOME (.alleycat), ALLEYCAT_STREAM, ALLEYCAT_TABLE, "
            "ALLEYCAT_LAKE_URI and ALLEYCAT_SHARDS (4); with the Kafka transport also ALLEYCAT_KAFKA_PORT (9092), "
            "ALLEYCAT_KAFKA_CONTROLLER_PORT (9093) and ALLEYCAT_KAFKA_TOPIC."
        ),
    )
    p.set_defaults(func=env)


def up(args: argparse.Namespace, settings: Settings) -> int:
    if args.transport is not None:
        settings = settings.replace(transport=args.transport)
    print(f"starting the local stack in {settings.home} (transport: {settings.transport}) ...", flush=True)
    if args.servers_only:
        stack.up(settings)
    else:
        stack.up_all(settings, lake=not args.no_lake)
    _print_status(stack.status(settings))
    print('ready. Point your shell at it with: eval "$(alleycat env)"')
    return 0


def down(args: argparse.Namespace, settings: Settings) -> int:
    stopped = stack.down(settings)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def status(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the servers and every started worker are healthy, else 1. With ``--watch``, again
    every few seconds until Ctrl-C (exit 0)."""
    if args.watch is None:
        return _status_once(args, settings)
    if args.watch <= 0:
        raise UsageError("--watch SECONDS must be above 0")
    try:
        while True:
            if not args.json:
                print(f"\n== {datetime.now(UTC):%H:%M:%S} UTC", flush=True)
            _status_once(args, settings)
            time.sleep(args.watch)
    except KeyboardInterrupt:
        return 0


def _status_once(args: argparse.Namespace, settings: Settings) -> int:
    report = stack.status(settings)
    if args.json:
        print(json.dumps(report, indent=2), flush=True)
    else:
        _print_status(report)
        _print_lag(report["lag"])
    servers_ok = all(c["healthy"] for c in report["components"][:2])
    started_ok = all(c["healthy"] for c in report["components"] if c["pid"])
    return 0 if servers_ok and started_ok else 1


def env(args: argparse.Namespace, settings: Settings) -> int:
    for name, value in shell_env(stack.with_running_transport(settings)).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _print_status(report: dict[str, Any]) -> None:
    print(f"home: {report['home']}")
    for c in report["components"]:
        state = "healthy" if c["healthy"] else ("running, not answering" if c["pid"] else "stopped")
        listening = ", ".join(c.get("listening") or []) or "-"
        print(
            f"  {c['name']:<10} pid={c['pid'] or '-':<8} port={c['port'] or '-':<6} {state:<8} listening on {listening}"
        )
    if report["shards"]:
        print(f"  stream {report['stream']}: {len(report['shards'])} shard(s)")
        for s in report["shards"]:
            if "error" in s:
                print(f"    {s['error']}")
            else:
                print(f"    {s['shardId']} {'open' if s['open'] else 'closed'}")


def _print_lag(lag: dict[str, Any]) -> None:
    """Per consumer: how far behind it is and its last checkpoint; its counters; the lake's freshness."""
    print("  lag (behind = MillisBehindLatest of the last read; age = IteratorAge of the last batch):")
    for m in lag["mappings"]:
        age = "-" if m.get("iteratorAgeMs") is None else f"{m['iteratorAgeMs'] / 1000:.1f}s"
        checkpoint = m.get("checkpoint") or "-"
        print(
            f"    {m['mapping']:<12} {m['shardId']:<24} behind={m['behindMs'] / 1000:.1f}s age={age} "
            f"checkpoint=…{checkpoint[-8:]} polled={m['polled']} invoked={m['invoked']} failed={m['failed']} "
            f"retried={m['retried']} deadLettered={m['deadLettered']} dropped={m['dropped']} "
            f"throttled={m['throttled']} (report {m['reportAgeS']:.0f}s old)"
        )
    if not lag["mappings"]:
        print("    no event source mapping has reported yet")
    fh = lag.get("firehose")
    if fh:
        print(
            f"    {'Firehose':<12} behind={fh['millis_behind_latest'] / 1000:.1f}s buffered={fh['buffered_records']} "
            f"bufferAge={fh['checkpoint_lag_s']:.1f}s delivered={fh['records_delivered']} "
            f"failed={fh['records_failed']} dropped={fh['records_dropped']} throttled={fh.get('throttled', 0)} "
            f"lastDelivery={fh['last_delivery'] or '-'} (report {fh['report_age_s']:.0f}s old)"
        )
        for shard, s in fh.get("shards", {}).items():
            seq = s["sequenceNumber"] or "-"
            print(f"      {shard:<24} behind={s['behindMs'] / 1000:.1f}s checkpoint=…{seq[-8:]}")
    groups = lag.get("kafkaGroups")
    if isinstance(groups, dict):
        print(f"    {'Kafka':<12} {groups['error']}")
    elif groups is not None:
        for g in groups:
            print(
                f"    {'Kafka':<12} group={g['group']} {g['partition']:<24} committed={g['committed']} "
                f"end={g['end']} lag={g['lag']}"
            )
        if not groups:
            print(f"    {'Kafka':<12} no consumer group has committed yet")
    lake = lag.get("lake") or {}
    if "error" in lake:
        print(f"    {'lake job':<12} {lake['error']}")
    elif lake.get("lastCommit"):
        print(
            f"    {'lake job':<12} lastCommit={lake['lastCommit']} ({lake['lastCommitAgeS']}s ago) "
            f"rawFilesSinceLastCommit={lake.get('rawFilesSinceLastCommit', '-')} "
            f"freshness(newest event age)={lake.get('newestEventAgeS', '-')}s"
        )
    else:
        print(f"    {'lake job':<12} no commit yet")
