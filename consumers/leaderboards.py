"""A race's board as rows: the final results (RESULT items, GSI1) or the live standings (LIVE).

A race is ``(raceId, classId)``: every class races in every slot. Without a class, every class
that has a race in that slot (its ``CLASS#c / RACE#r`` item exists; one GetItem per class, no
scan) gets its own board. Used by ``alleycat leaderboard`` and the demo.
"""

from __future__ import annotations

from typing import Any

from alleycat.adapters.race_table import RaceTable

COLUMNS = ("rank", "racerId", "name", "totalOutput", "avgOutput", "maxOutput", "seconds")


def live_rows(table: RaceTable, race_id: int, class_id: int, limit: int) -> list[dict[str, Any]]:
    """The live standings of race ``(race_id, class_id)`` from its LIVE item, up to ``limit`` rows."""
    live = table.read_live(race_id, class_id)
    if live is None:
        return []
    return live.race.standing_rows(limit)


def result_rows(table: RaceTable, race_id: int, class_id: int, limit: int) -> list[dict[str, Any]]:
    """The final results of race ``(race_id, class_id)`` (RESULT items, GSI1), up to ``limit`` rows."""
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
        for rank, item in enumerate(table.query_results(race_id, class_id, limit), start=1)
    ]


def boards(
    table: RaceTable, race_id: int, class_id: int | None, live: bool, limit: int
) -> dict[int, list[dict[str, Any]]]:
    """classId -> rows: the one race asked for, or every class racing in slot ``race_id``."""
    classes = [class_id] if class_id is not None else table.race_classes(race_id)
    rows = live_rows if live else result_rows
    return {c: rows(table, race_id, c, limit) for c in classes}
