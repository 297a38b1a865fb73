"""``alleycat up | down | status | env``: the local stack (``infra.local.stack``)."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from alleycat.settings import Settings
from infra.local import stack
from infra.local.environment import shell_env


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("up", help="start the local stack (servers, resources, API, consumers, lake); idempotent")
    p.add_argument("--no-lake", action="store_true", help="do not start the Firehose + Glue job (Spark)")
    p.add_argument("--servers-only", action="store_true", help="only Kinesis and DynamoDB, and the resources")
    p.set_defaults(func=up)
    p = sub.add_parser("down", help="stop the processes `up` started (data stays)")
    p.set_defaults(func=down)
    p = sub.add_parser("status", help="each component's pid, port and health, and the stream's shards")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=status)
    p = sub.add_parser(
        "env",
        help='print `export` lines pointing boto3 at the local stack: eval "$(alleycat env)"',
        description=(
            "Ports and names come from ALLEYCAT_KINESIS_PORT (4567), ALLEYCAT_DYNAMODB_PORT (8000), "
            "ALLEYCAT_API_PORT (8080), ALLEYCAT_HOME (.alleycat), ALLEYCAT_STREAM, ALLEYCAT_TABLE, "
            "ALLEYCAT_LAKE_URI and ALLEYCAT_SHARDS (4)."
        ),
    )
    p.set_defaults(func=env)


def up(args: argparse.Namespace, settings: Settings) -> int:
    print(f"starting the local stack in {settings.home} ...", flush=True)
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
    """Exit 0 when the servers and every started worker are healthy, else 1."""
    report = stack.status(settings)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        _print_status(report)
    servers_ok = all(c["healthy"] for c in report["components"][:2])
    started_ok = all(c["healthy"] for c in report["components"] if c["pid"])
    return 0 if servers_ok and started_ok else 1


def env(args: argparse.Namespace, settings: Settings) -> int:
    for name, value in shell_env(settings).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def _print_status(report: dict[str, Any]) -> None:
    print(f"home: {report['home']}")
    for c in report["components"]:
        state = "healthy" if c["healthy"] else ("running, not answering" if c["pid"] else "stopped")
        print(f"  {c['name']:<10} pid={c['pid'] or '-':<8} port={c['port'] or '-':<6} {state}")
    if report["shards"]:
        print(f"  stream {report['stream']}: {len(report['shards'])} shard(s)")
        for s in report["shards"]:
            if "error" in s:
                print(f"    {s['error']}")
            else:
                print(f"    {s['shardId']} {'open' if s['open'] else 'closed'}")
