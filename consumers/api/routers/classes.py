"""The classes: their list, each class's races and its all-time leaderboard."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from alleycat.domain import keys
from alleycat.domain.events import CLASS_IDS
from alleycat.resources import GSI_BOARDS
from consumers.api.models import ClassBestEntry, ClassLeaderboard, ClassList, ClassSummary, RaceList, RaceSummary
from consumers.api.params import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    NOT_FOUND,
    ClassId,
    Cursor,
    Limit,
    known_class,
    race_path,
)
from consumers.api.services import AnswersDep, StoreDep
from consumers.api.store import plain

router = APIRouter(tags=["classes"])


@router.get("/classes")
def list_classes() -> ClassList:
    return ClassList(
        classes=[
            ClassSummary(class_id=c, races=f"/classes/{c}/races", leaderboard=f"/classes/{c}/leaderboard")
            for c in CLASS_IDS
        ]
    )


@router.get("/classes/{classId}/races", response_model=RaceList, responses=NOT_FOUND)
def class_races(
    class_id: ClassId,
    store: StoreDep,
    answers: AnswersDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="races per page, 1..1000")] = 20,
    status: Annotated[Literal["live", "completed"] | None, Query(description="only races in this state")] = None,
    cursor: Cursor = None,
) -> Response:
    """A class's races, most recent first, with the paths of each race (Query `PK = CLASS#c`, descending)."""

    def build() -> RaceList:
        known_class(class_id)
        page = store.page(
            scope=f"class-races:{class_id}:{status}",
            index=None,
            partition=keys.class_pk(class_id),
            sk_prefix="RACE#",
            limit=limit,
            page_cursor=cursor,
            status=status,
        )
        races = []
        for item in page.items:
            race_id = keys.parse_race_sk(item["SK"])
            races.append(
                RaceSummary(
                    race_id=race_id,
                    class_id=class_id,
                    status=item["status"],
                    started_at=plain(item.get("startedAt")),
                    racers=plain(item.get("racers")),
                    leaderboard=f"{race_path(race_id, class_id)}/leaderboard",
                    live=f"{race_path(race_id, class_id)}/live",
                )
            )
        return RaceList(class_id=class_id, races=races, next_cursor=page.next_cursor)

    return answers.json(("class-races", class_id, limit, status, cursor), build)


@router.get("/classes/{classId}/leaderboard", response_model=ClassLeaderboard, responses=NOT_FOUND)
def class_leaderboard(
    class_id: ClassId, store: StoreDep, answers: AnswersDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> Response:
    """All-time: each racer's best race in the class, highest first (Query GSI1 `BEST#CLASS#c`, descending)."""

    def build() -> ClassLeaderboard:
        known_class(class_id)
        page = store.page(
            scope=f"class-board:{class_id}",
            index=GSI_BOARDS,
            partition=keys.best_board_pk(class_id),
            limit=limit,
            page_cursor=cursor,
        )
        entries = [
            ClassBestEntry(
                rank=page.rank_offset + i,
                racer_id=int(item["racerId"]),
                name=item["name"],
                total_output=float(item["totalOutput"]),
                race_id=int(item["raceId"]),
            )
            for i, item in enumerate(page.items, 1)
        ]
        return ClassLeaderboard(class_id=class_id, entries=entries, next_cursor=page.next_cursor)

    return answers.json(("class-board", class_id, limit, cursor), build)
