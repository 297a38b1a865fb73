"""``alleycat leaderboard``: a race's standings from DynamoDB (final results, or --live)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from consumers import dynamo

COLUMNS = ("rank", "racerId", "name", "totalOutput", "avgOutput", "maxOutput", "seconds")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="print a race's standings: final results (GSI1, descending) or --live (the LIVE item)",
    )
    p.add_argument("--race", type=int, required=True, metavar="RACE_ID")
    p.add_argument("--live", action="store_true", help="the live standings (LIVE item) instead of final results")
    p.add_argument("--json", action="store_true", help="print JSON rows")
    p.add_argument("--limit", type=int, default=1000, help="rows to print (default: 1000)")
    p.set_defaults(func=_leaderboard)


def live_rows(race_id: int, limit: int) -> list[dict[str, Any]]:
    live = dynamo.read_live(race_id)
    if live is None:
        return []
    return [
        {
            "rank": rank,
            "racerId": s.racer_id,
            "name": s.name,
            "totalOutput": s.total_output,
            "avgOutput": s.avg_output,
            "maxOutput": s.max_output,
            "seconds": s.seconds,
            "finished": s.finished,
        }
        for rank, s in enumerate(live.race.standings()[:limit], start=1)
    ]


def result_rows(race_id: int, limit: int) -> list[dict[str, Any]]:
    return [
        {
            "rank": rank,
            "racerId": int(item["racerId"]),
            "name": item["name"],
            "totalOutput": float(item["totalOutput"]),
            "avgOutput": float(item["avgOutput"]),
            "maxOutput": float(item["maxOutput"]),
            "seconds": int(item["seconds"]),
            "finished": bool(item["finished"]),
        }
        for rank, item in enumerate(dynamo.query_results(race_id, limit), start=1)
    ]


def _leaderboard(args: argparse.Namespace) -> int:
    rows = (live_rows if args.live else result_rows)(args.race, args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0 if rows else 1
    if not rows:
        print(f"race {args.race}: no {'live standings' if args.live else 'results'}")
        return 1
    print(f"race {args.race} ({'live' if args.live else 'final results'}):")
    print(f"{'rank':>4}  {'racerId':>8}  {'name':<16} {'total':>12} {'avg':>9} {'max':>9} {'seconds':>7}")
    for r in rows:
        print(
            f"{r['rank']:>4}  {r['racerId']:>8}  {r['name'][:16]:<16} {r['totalOutput']:>12.3f} "
            f"{r['avgOutput']:>9.3f} {r['maxOutput']:>9.3f} {r['seconds']:>7}"
        )
    return 0
