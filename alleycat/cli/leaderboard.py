"""``alleycat leaderboard``: a race's standings from DynamoDB (final results, or --live).

A race is ``(raceId, classId)``: every class races in every slot. ``--class`` picks one race;
without it every class that has a race in that slot gets its own board (``consumers.leaderboards``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from alleycat.adapters.race_table import DynamoRaceTable, RaceTable
from alleycat.domain.events import CLASS_IDS
from alleycat.settings import Settings
from alleycat.support import escape
from consumers.leaderboards import boards


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "leaderboard",
        help="print a race's standings: final results (GSI1, descending) or --live (the LIVE item)",
        description="A race is (raceId, classId). Without --class: a board for every class racing in that raceId.",
    )
    p.add_argument("--race", type=int, required=True, metavar="RACE_ID")
    p.add_argument(
        "--class",
        dest="class_id",
        type=int,
        choices=CLASS_IDS,
        metavar="CLASS_ID",
        help="the race's class (1-6); default: every class that has a race with this raceId",
    )
    p.add_argument("--live", action="store_true", help="the live standings (LIVE item) instead of final results")
    p.add_argument("--json", action="store_true", help="print JSON rows (each with raceId and classId)")
    p.add_argument("--limit", type=int, default=1000, help="rows to print per race (default: 1000)")
    p.set_defaults(func=leaderboard)


def leaderboard(
    args: argparse.Namespace,
    settings: Settings,
    table: Callable[[Settings], RaceTable] = DynamoRaceTable.from_settings,
) -> int:
    kind = "live standings" if args.live else "results"
    found = boards(table(settings), args.race, args.class_id, args.live, args.limit)
    if args.json:
        print(
            json.dumps(
                [{"raceId": args.race, "classId": c, **row} for c, rows in found.items() for row in rows], indent=2
            )
        )
        return 0 if any(found.values()) else 1
    if not found:
        print(f"race {args.race}: no class has a race with this raceId")
        return 1
    for n, (class_id, rows) in enumerate(found.items()):
        if n:
            print()
        if not rows:
            print(f"race {args.race} class {class_id}: no {kind}")
            continue
        print(f"race {args.race} class {class_id} ({'live' if args.live else 'final results'}):")
        print(f"{'rank':>4}  {'racerId':>8}  {'name':<16} {'total':>12} {'avg':>9} {'max':>9} {'seconds':>7}")
        for r in rows:
            print(
                f"{r['rank']:>4}  {r['racerId']:>8}  {escape.terminal(r['name'])[:16]:<16} {r['totalOutput']:>12.3f} "
                f"{r['avgOutput']:>9.3f} {r['maxOutput']:>9.3f} {r['seconds']:>7}"
            )
    return 0 if any(found.values()) else 1
