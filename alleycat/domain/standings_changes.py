"""Live standings as a snapshot, then changes: what a change carries, and how a client applies it.

A snapshot is the standings rows (``RaceScores.standing_rows``) of one version of the LIVE item. A
change takes a client from version ``v - 1`` to ``v``: only the riders whose row changed, and of
them only the fields that changed for some rider, in columns (``fields`` once, then one list of
values per rider: at 1,000 riders this is ~96 kB where the full rows are ~344 kB, and under IoT
Core's 128 KB message limit). ``apply_changes`` is the rule every client follows (the page's
``live.js`` implements the same steps); ``tests/unit/test_standings_changes.py`` holds it to
``apply_changes(rows(v - 1), changes) == rows(v)``.

``previousRank`` is never sent for a rider the client already holds: by definition it is the rank
the rider had in the version before, which the client has. Riders entering the rows (a new rider,
or one climbing into the top N) come whole in ``added``; riders leaving them are ``removed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Row = dict[str, Any]
KEY = "racerId"
PREVIOUS = "previousRank"


@dataclass(frozen=True)
class Changes:
    fields: list[str]  # the fields of ``rows``, after the racerId
    rows: list[list[Any]]  # [racerId, *values] per rider held before whose row changed
    added: list[Row]  # whole rows of riders not held before
    removed: list[int]  # racerIds no longer in the rows

    def to_wire(self) -> dict[str, Any]:
        return {"fields": self.fields, "rows": self.rows, "added": self.added, "removed": self.removed}


def standings_changes(before: list[Row], after: list[Row]) -> Changes:
    """What takes a client holding the rows ``before`` to the rows ``after`` (both from
    ``standing_rows``; the ``previousRank`` of ``before`` is not looked at)."""
    held = {row[KEY]: row for row in before}
    changed: list[tuple[Row, Row]] = []
    added: list[Row] = []
    fields: dict[str, None] = {}  # insertion-ordered set: the row's own field order
    for row in after:
        old = held.get(row[KEY])
        if old is None:
            added.append(row)
            continue
        differs = [k for k, v in row.items() if k not in (KEY, PREVIOUS) and old.get(k) != v]
        if differs:
            changed.append((row, old))
            fields.update(dict.fromkeys(differs))
    order = [k for k in after[0] if k in fields] if after else []
    rows = [[row[KEY], *(row[k] for k in order)] for row, _ in changed]
    kept = {row[KEY] for row in after}
    return Changes(order, rows, added, [racer for racer in held if racer not in kept])


def apply_changes(before: list[Row], changes: Changes) -> list[Row]:
    """The rows after ``changes``: every held rider's previous rank is the rank they had, the
    changed fields are written, the added rows put in, the removed taken out; ordered by rank."""
    rows = {row[KEY]: {**row, PREVIOUS: row["rank"]} for row in before}
    for racer in changes.removed:
        rows.pop(racer, None)
    for racer, *values in changes.rows:
        rows[racer].update(zip(changes.fields, values, strict=True))
    for row in changes.added:
        rows[row[KEY]] = dict(row)
    return sorted(rows.values(), key=lambda row: row["rank"])
