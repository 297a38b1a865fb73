"""The leaderboard API: FastAPI routes over the single table, the bests export and the live channel.

The same app runs under uvicorn locally (``alleycat api``) and on Lambda behind an API Gateway HTTP
API (``consumers.api.handler``, through Mangum). docs/api.md describes every path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Path, Query, Response
from fastapi.openapi.utils import get_openapi
from fastapi.sse import EventSourceResponse, ServerSentEvent

from alleycat.domain import keys
from alleycat.domain.events import CLASS_IDS, MAX_RACER_ID, RaceKey
from alleycat.domain.scoring import RacerScore, rank
from alleycat.resources import GSI_BOARDS, GSI_HISTORY
from alleycat.settings import Settings
from consumers.api import errors
from consumers.api.cursor import race_scope
from consumers.api.errors import ApiError, not_found
from consumers.api.exports import BestsExports, ExportMissing
from consumers.api.live import IOT_TOPIC_HINT, LiveHub
from consumers.api.models import (
    ClassBestEntry,
    ClassLeaderboard,
    ClassList,
    ClassSummary,
    Delivered,
    ErrorBody,
    Health,
    LeaderboardEntry,
    LiveMessage,
    LiveStanding,
    LiveStandings,
    RaceLeaderboard,
    RaceList,
    RacerBest,
    RacerBests,
    RacerRace,
    RacerRaces,
    RaceSummary,
)
from consumers.api.response_cache import ResponseCache
from consumers.api.store import Store, plain

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
HISTORY_LIMIT = 10
MAX_HISTORY_LIMIT = 50
MAX_RACE_ID = 2**53

RaceId = Annotated[int, Path(alias="raceId", ge=0, le=MAX_RACE_ID, description="a race id, 0..2^53")]
RacerId = Annotated[int, Path(alias="racerId", ge=0, le=MAX_RACER_ID, description="a racer id, 0..99,999,999")]
ClassId = Annotated[int, Path(alias="classId", description=f"a class id, {CLASS_IDS.start}..{CLASS_IDS.stop - 1}")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="entries per page, 1..1000")]
Cursor = Annotated[str | None, Query(max_length=2048, description="the `nextCursor` of the previous page")]

PER_SECOND_BESTS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}},
}
_ERROR = {"model": ErrorBody}
_404 = {404: {**_ERROR, "description": "no such race, class or racer (or nothing recorded for it yet)"}}


def race_path(race_id: int, class_id: int) -> str:
    """The path of a race: a race is (raceId, classId), so it lives under its class."""
    return f"/classes/{class_id}/races/{race_id}"


def _known_class(class_id: int) -> None:
    if class_id not in CLASS_IDS:
        raise not_found(f"class {class_id} does not exist; the classes are listed at /classes.")


def _class_exists(class_id: ClassId) -> None:
    """``_known_class`` as a dependency: checked before a streamed answer starts."""
    _known_class(class_id)


def _entry(item: dict[str, Any], position: int) -> LeaderboardEntry:
    return LeaderboardEntry(
        rank=position,
        racer_id=int(item["racerId"]),
        name=item["name"],
        total_output=float(item["totalOutput"]),
        avg_output=float(item["avgOutput"]),
        max_output=float(item["maxOutput"]),
        seconds=int(item["seconds"]),
        finished=bool(item["finished"]),
    )


def _live_standing(score: RacerScore, position: int) -> LiveStanding:
    return LiveStanding(
        rank=position,
        racer_id=score.racer_id,
        name=score.name,
        total_output=score.total_output,
        avg_output=score.avg_output,
        max_output=score.max_output,
        seconds=score.seconds,
        last_second=score.last_second,
        finished=score.finished,
    )


def create_app(settings: Settings, *, live_push: bool = True) -> FastAPI:
    """The app. ``live_push``: serve the in-process SSE channel (local); off on Lambda, where IoT Core does it."""
    store = Store(settings.table)
    exports = BestsExports(settings.lake_uri)
    hub = LiveHub()
    answers = ResponseCache()
    app = FastAPI(
        title="Alleycat leaderboard API",
        version="1.0.0",
        description="Race leaderboards, live standings, class and racer records. Errors are "
        '`{"error": code, "message": sentence}`. Paged lists return `nextCursor`; pass it back as `cursor`.',
    )
    errors.install(app)

    @app.get("/health", tags=["meta"])
    def health() -> Health:
        return Health(status="ok")

    @app.get("/classes", tags=["classes"])
    def list_classes() -> ClassList:
        return ClassList(
            classes=[
                ClassSummary(class_id=c, races=f"/classes/{c}/races", leaderboard=f"/classes/{c}/leaderboard")
                for c in CLASS_IDS
            ]
        )

    @app.get("/classes/{classId}/races", response_model=RaceList, tags=["classes"], responses=_404)
    def class_races(
        class_id: ClassId,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="races per page, 1..1000")] = 20,
        status: Annotated[Literal["live", "completed"] | None, Query(description="only races in this state")] = None,
        cursor: Cursor = None,
    ) -> Response:
        """A class's races, most recent first, with the paths of each race (Query `PK = CLASS#c`, descending)."""

        def build() -> RaceList:
            _known_class(class_id)
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

    @app.get(
        "/classes/{classId}/races/{raceId}/leaderboard",
        response_model=RaceLeaderboard,
        tags=["races"],
        responses=_404,
    )
    def race_leaderboard(
        class_id: ClassId, race_id: RaceId, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> Response:
        """A race's results, highest total first (Query GSI1 `RACE#r#c`, descending); ranks continue across
        pages. A race is (raceId, classId): every class races in every slot, each with its own board."""

        def build() -> RaceLeaderboard:
            _known_class(class_id)
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
                entries=[_entry(item, page.rank_offset + i) for i, item in enumerate(page.items, 1)],
                next_cursor=page.next_cursor,
            )

        return answers.json(("race", race_id, class_id, limit, cursor), build)

    @app.get("/classes/{classId}/races/{raceId}/live", tags=["races"], responses=_404)
    def race_live(class_id: ClassId, race_id: RaceId) -> LiveStandings:
        """The standings of a race in progress (GetItem `RACE#r#c / LIVE`), ranked by the domain's rule."""
        _known_class(class_id)
        item = store.get(keys.race_pk(race_id, class_id), keys.LIVE_SK)
        if item is None:
            raise not_found(
                f"race {race_id} of class {class_id} is not running (no live standings); "
                f"finished races are at {race_path(race_id, class_id)}/leaderboard."
            )
        scores = [RacerScore.from_compact(int(racer), doc) for racer, doc in plain(item["racers"]).items()]
        return LiveStandings(
            race_id=race_id,
            class_id=class_id,
            window_end=item.get("windowEnd"),
            version=int(item["version"]),
            updated_at=plain(item.get("updatedAt")),
            standings=[_live_standing(score, i) for i, score in enumerate(rank(scores), 1)],
        )

    def _live_push_available() -> None:
        if not live_push:
            raise ApiError(
                404,
                "not_available",
                f"this deployment pushes live standings over AWS IoT Core: subscribe to the topic {IOT_TOPIC_HINT}.",
            )

    @app.get(
        "/classes/{classId}/races/{raceId}/live/stream",
        tags=["races"],
        response_class=EventSourceResponse,
        dependencies=[Depends(_live_push_available), Depends(_class_exists)],
        responses={404: {**_ERROR, "description": "no such class, or no push channel here (on AWS: IoT Core)"}},
    )
    async def race_live_stream(class_id: ClassId, race_id: RaceId) -> AsyncIterator[ServerSentEvent]:
        """Server-Sent Events: a `subscribed` event, then a `standings` event per live update of the race
        (the message the publisher sends). Local stack only; on AWS subscribe to the IoT Core topic
        of the race (docs/api.md)."""
        race = RaceKey(race_id, class_id)
        queue = hub.subscribe(race)
        try:
            yield ServerSentEvent(event="subscribed", data={"raceId": race_id, "classId": class_id})
            while True:
                message = await queue.get()
                yield ServerSentEvent(event="standings", data=message)
        finally:
            hub.unsubscribe(race, queue)

    if live_push:

        @app.post("/internal/live", include_in_schema=False, status_code=202)
        async def publish_live(message: LiveMessage) -> Delivered:
            """The local publisher's endpoint: fan a standings message out to the SSE subscribers of
            its race, ``(raceId, classId)``."""
            doc = message.model_dump(by_alias=True)
            return Delivered(subscribers=hub.publish(RaceKey(message.race_id, message.class_id), doc))

    @app.get("/classes/{classId}/leaderboard", response_model=ClassLeaderboard, tags=["classes"], responses=_404)
    def class_leaderboard(class_id: ClassId, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None) -> Response:
        """All-time: each racer's best race in the class, highest first (Query GSI1 `BEST#CLASS#c`, descending)."""

        def build() -> ClassLeaderboard:
            _known_class(class_id)
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

    @app.get(
        "/classes/{classId}/per-second-bests",
        tags=["classes"],
        responses={
            200: {
                "description": "`{racerId: {second: output}}`: each racer's best output at each second of a race",
                "content": {"application/json": {"schema": PER_SECOND_BESTS_SCHEMA}},
            },
            **_404,
            503: {**_ERROR, "description": "the export exists but cannot be read"},
        },
    )
    def class_per_second_bests(class_id: ClassId) -> Response:
        """The all-time per-second personal bests of a class: the lake export `class-<c>.json.gz`, cached."""
        _known_class(class_id)
        try:
            return Response(exports.get(class_id), media_type="application/json")
        except ExportMissing:
            raise not_found(
                f"the per-second bests of class {class_id} have not been exported yet "
                f"(expected at {exports.uri(class_id)}); try again after the export job has run."
            ) from None
        except (OSError, EOFError, ValueError):
            raise ApiError(
                503, "export_unreadable", f"the export {exports.uri(class_id)} cannot be read; retry later."
            ) from None

    @app.get("/racers/{racerId}/races", response_model=RacerRaces, tags=["racers"], responses=_404)
    def racer_races(
        racer_id: RacerId,
        limit: Annotated[int, Query(ge=1, le=MAX_HISTORY_LIMIT, description="races per page, 1..50")] = HISTORY_LIMIT,
        cursor: Cursor = None,
    ) -> Response:
        """A racer's races, most recent first, with score, rank in the race (its class's board) and the
        path of that board (Query GSI2 `RACER#x`, descending)."""

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
                stored = item.get("rank")
                races.append(
                    RacerRace(
                        **_entry(item, 0).model_dump(exclude={"rank", "racer_id"}),
                        race_id=race_id,
                        class_id=class_id,
                        rank=int(stored)
                        if stored is not None
                        else store.rank_in_race(race_id, class_id, item["GSI1SK"]),
                        leaderboard=f"{race_path(race_id, class_id)}/leaderboard",
                    )
                )
            return RacerRaces(racer_id=racer_id, races=races, next_cursor=page.next_cursor)

        return answers.json(("racer-races", racer_id, limit, cursor), build)

    @app.get("/racers/{racerId}/bests", response_model=RacerBests, tags=["racers"], responses=_404)
    def racer_bests(racer_id: RacerId) -> Response:
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

    def openapi() -> dict[str, Any]:
        """FastAPI's document; data endpoints declare our 400 and 503 error shape instead of its 422."""
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
            for path in doc["paths"].values():
                for operation in path.values():
                    responses = operation["responses"]
                    if responses.pop("422", None) is not None or "parameters" in operation:
                        responses["400"] = {"description": "malformed id, limit or cursor", "content": error}
                        responses.setdefault(
                            "503", {"description": "a backing service is unavailable", "content": error}
                        )
            schemas = doc.get("components", {}).get("schemas", {})
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
