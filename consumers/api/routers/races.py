"""A race, ``(raceId, classId)``: its leaderboard and, while it runs, its live standings."""

from __future__ import annotations

from fastapi import APIRouter, Response

from alleycat.domain import keys
from alleycat.resources import GSI_BOARDS
from consumers.api.cursor import race_scope
from consumers.api.errors import not_found
from consumers.api.live import live_snapshot
from consumers.api.models import LeaderboardEntry, LiveStandings, RaceLeaderboard
from consumers.api.params import DEFAULT_LIMIT, NOT_FOUND, ClassId, Cursor, Limit, RaceId, known_class, race_path
from consumers.api.services import AnswersDep, StoreDep

router = APIRouter(tags=["races"])


@router.get("/classes/{classId}/races/{raceId}/leaderboard", response_model=RaceLeaderboard, responses=NOT_FOUND)
def race_leaderboard(
    class_id: ClassId,
    race_id: RaceId,
    store: StoreDep,
    answers: AnswersDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """A race's results, highest total first (Query GSI1 `RACE#r#c`, descending); ranks continue across
    pages. A race is (raceId, classId): every class races in every slot, each with its own board."""

    def build() -> RaceLeaderboard:
        known_class(class_id)
        page = store.page(
            scope=race_scope(race_id, class_id),
            index=GSI_BOARDS,
            partition=keys.race_pk(race_id, class_id),
            limit=limit,
            page_cursor=cursor,
        )
        if not page.items and cursor is None:
            raise not_found(
                f"race {race_id} of class {class_id} has no results; check the ids, or see "
                f"{race_path(race_id, class_id)}/live while it runs."
            )
        return RaceLeaderboard(
            race_id=race_id,
            class_id=class_id,
            entries=[LeaderboardEntry.from_item(item, page.rank_offset + i) for i, item in enumerate(page.items, 1)],
            next_cursor=page.next_cursor,
        )

    return answers.json(("race", race_id, class_id, limit, cursor), build)


@router.get("/classes/{classId}/races/{raceId}/live", responses=NOT_FOUND)
def race_live(class_id: ClassId, race_id: RaceId, store: StoreDep) -> LiveStandings:
    """The standings of a race in progress (GetItem `RACE#r#c / LIVE`), ranked by the domain's rule."""
    known_class(class_id)
    snapshot = live_snapshot(store, race_id, class_id)
    if snapshot is None:
        raise not_found(
            f"race {race_id} of class {class_id} is not running (no live standings); "
            f"finished races are at {race_path(race_id, class_id)}/leaderboard."
        )
    return snapshot
