"""A racer: their races (with the rank in each) and their best race per class."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from alleycat.domain import keys
from alleycat.domain.events import CLASS_IDS
from alleycat.resources import GSI_HISTORY
from consumers.api.errors import not_found
from consumers.api.models import LeaderboardEntry, RacerBest, RacerBests, RacerRace, RacerRaces
from consumers.api.params import NOT_FOUND, Cursor, RacerId, race_path
from consumers.api.services import AnswersDep, StoreDep

HISTORY_LIMIT = 10
MAX_HISTORY_LIMIT = 50

router = APIRouter(tags=["racers"])


@router.get("/racers/{racerId}/races", response_model=RacerRaces, responses=NOT_FOUND)
def racer_races(
    racer_id: RacerId,
    store: StoreDep,
    answers: AnswersDep,
    limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_LIMIT, description="races per page, 1..50")] = HISTORY_LIMIT,
    cursor: Cursor = None,
) -> Response:
    """A racer's races, most recent first, with score, rank in the race (its class's board; stored on
    the result when the race completes, null before) and the path of that board: one Query of GSI2
    `RACER#x`, descending, per page."""

    def build() -> RacerRaces:
        page = store.page(
            scope=f"racer-races:{racer_id}",
            index=GSI_HISTORY,
            partition=keys.racer_pk(racer_id),
            limit=limit,
            page_cursor=cursor,
        )
        if not page.items and cursor is None:
            raise not_found(f"racer {racer_id} has no recorded races; check the id.")
        races = []
        for item in page.items:
            race_id, class_id = int(item["raceId"]), int(item["classId"])
            stored = item.get("rank")  # consumers.final_results writes it when the race completes
            races.append(
                RacerRace(
                    **LeaderboardEntry.from_item(item, 0).model_dump(exclude={"rank", "racer_id"}),
                    race_id=race_id,
                    class_id=class_id,
                    rank=int(stored) if stored is not None else None,
                    leaderboard=f"{race_path(race_id, class_id)}/leaderboard",
                )
            )
        return RacerRaces(racer_id=racer_id, races=races, next_cursor=page.next_cursor)

    return answers.json(("racer-races", racer_id, limit, cursor), build)


@router.get("/racers/{racerId}/bests", response_model=RacerBests, responses=NOT_FOUND)
def racer_bests(racer_id: RacerId, store: StoreDep, answers: AnswersDep) -> Response:
    """A racer's best race score in each class (Query `PK = RACER#x`, `SK begins_with BEST#`)."""

    def build() -> RacerBests:
        page = store.page(
            scope=f"racer-bests:{racer_id}",
            index=None,
            partition=keys.racer_pk(racer_id),
            sk_prefix="BEST#",
            limit=len(CLASS_IDS),
            page_cursor=None,
        )
        if not page.items:
            raise not_found(f"racer {racer_id} has no personal bests yet; check the id.")
        bests = [
            RacerBest(
                class_id=int(item["classId"]),
                name=item["name"],
                total_output=float(item["totalOutput"]),
                race_id=int(item["raceId"]),
            )
            for item in sorted(page.items, key=lambda item: int(item["classId"]))
        ]
        return RacerBests(racer_id=racer_id, bests=bests)

    return answers.json(("racer-bests", racer_id), build)
