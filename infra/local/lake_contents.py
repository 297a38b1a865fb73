"""What is in the stack's lake, read without Spark (hudi-rs, pyarrow): the raw zone, each Hudi
table's timeline and row count, freshness, and the top of a race (what the demo prints).

Everything reads the stack's lake (``infra.local.environment.stack_lake``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alleycat.domain.events import RaceKey
from alleycat.domain.scoring import RacerScore, rank
from alleycat.lake.catalog import table
from alleycat.resources import HUDI_TABLES
from alleycat.settings import Settings
from glue_jobs import raw_zone, snapshots
from infra.local.environment import stack_lake


def _written(path: str) -> bool:
    return (Path(path) / ".hoodie" / "hoodie.properties").is_file()


def row_counts(settings: Settings) -> dict[str, int]:
    """Rows in each Hudi table's snapshot (0 for a table not written yet)."""
    lake = stack_lake(settings)
    counts = {}
    for name in HUDI_TABLES:
        target = table(lake, name)
        counts[name] = snapshots.read(target, list(target.record_key[:1])).num_rows if _written(target.path) else 0
    return counts


def top_of_race(
    settings: Settings, race_id: int | None = None, class_id: int | None = None, n: int = 3
) -> tuple[RaceKey | None, list[dict[str, Any]]]:
    """The top ``n`` of one race from ``race_results``, ranked like the domain (highest total, ties
    to the lower racerId). A race is a raceId and a classId (every class races in each slot); the
    class defaults to the lowest one present (in ``race_id`` when given), the raceId to that class's
    latest race. Returns (the race's RaceKey, rows); (None, []) when there is no such race."""
    target = table(stack_lake(settings), "race_results")
    if not _written(target.path):
        return None, []
    rows = snapshots.read(target).to_pylist()
    if class_id is None:
        class_id = min((r["class_id"] for r in rows if race_id is None or r["race_id"] == race_id), default=None)
    if race_id is None:
        race_id = max((r["race_id"] for r in rows if r["class_id"] == class_id), default=None)
    racers = {r["racer_id"]: r for r in rows if (r["race_id"], r["class_id"]) == (race_id, class_id)}
    if race_id is None or class_id is None or not racers:
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


def status(settings: Settings) -> dict[str, Any]:
    """Raw files, failed records, each Hudi table's timeline, and freshness."""
    lake = stack_lake(settings)
    now_ms = int(time.time() * 1000)
    files = raw_zone.list_files(lake)
    failed_root = Path(lake.resolve(lake.layout.processing_failed))
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
        target = table(lake, name)
        if not _written(target.path):
            report["tables"][name] = {"commits": 0}
            continue
        commits = snapshots.commits(target)
        report["tables"][name] = {
            "commits": len(commits),
            "firstCommit": commits[0].instant if commits else None,
            "lastCommit": commits[-1].instant if commits else None,
            "lastCommitAgeS": round((now_ms - commits[-1].epoch_ms) / 1000, 1) if commits else None,
            "rows": snapshots.read(target, list(target.record_key[:1])).num_rows,
        }
    telemetry = table(lake, "telemetry")
    if _written(telemetry.path):
        newest = max(snapshots.read(telemetry, ["device_timestamp"]).column(0).to_pylist(), default=None)
        last_commit_ms = max((c.epoch_ms for c in snapshots.commits(telemetry)), default=None)
        report["freshness"] = {
            "newestEventAgeS": round((now_ms - newest) / 1000, 1) if newest else None,
            "rawFilesSinceLastCommit": sum(1 for f in files if last_commit_ms and f.mtime_ms > last_commit_ms),
        }
    return report
