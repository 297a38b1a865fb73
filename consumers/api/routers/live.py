"""The local push channel: a race's Server-Sent-Events stream, and ``POST /internal/live``, where
the local publisher sends each change message (``internal``, included only when the app pushes;
on Lambda clients subscribe to IoT Core instead and the stream answers 404 ``not_available``).

The stream is a snapshot, then changes (``alleycat.domain.standings_changes``): ``subscribed``, then
``snapshot`` (``GET .../live``'s answer, or version 0 and no rows before the race's first LIVE
write), then each ``changes`` or ``resync`` message the publisher sends. Every event's id is the
LIVE version it brings the client to; a client reconnecting with ``Last-Event-ID`` equal to the
current version gets no snapshot (it holds it), any other reconnect gets a fresh one. The
subscription is taken before the snapshot is read, so no change falls between the two (a change
the snapshot already holds has ``version`` <= the snapshot's: clients skip it).

``/internal/live`` takes only the stack's token (``Settings.live_token``, a bearer token the local
stack generates and gives the publisher): any web page open in a browser can reach 127.0.0.1, so
without it any page could inject standings. The streams are capped (``Settings.live_subscribers_max``):
beyond it a new stream gets 503 with ``Retry-After``."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from alleycat.domain.events import RaceKey
from consumers.api.errors import ApiError
from consumers.api.live import IOT_TOPIC_HINT, HubFull, live_snapshot
from consumers.api.models import Delivered, LiveMessage, LiveStandings
from consumers.api.params import ClassId, RaceId, class_exists
from consumers.api.services import HubDep, ServicesDep, StoreDep

router = APIRouter(tags=["races"])
internal = APIRouter()
RETRY_AFTER_S = 30  # when the streams are full: about how long a race's standings take to change
RECONNECT_MS = 1000  # the browser's own reconnect delay after a dropped stream (SSE `retry`)


async def _subscription(
    class_id: ClassId, race_id: RaceId, hub: HubDep
) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """The stream's place among the hub's subscribers, taken before the response starts (so a full
    hub is a plain 503) and given back after it ends (scope "request")."""
    race = RaceKey(race_id, class_id)
    try:
        queue = hub.subscribe(race)
    except HubFull:
        raise ApiError(
            503,
            "too_many_subscribers",
            f"this server already streams to {hub.max_subscribers} clients; retry later, or poll .../live.",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        ) from None
    try:
        yield queue
    finally:
        hub.unsubscribe(race, queue)


def _stack_token(services: ServicesDep, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = services.settings.live_token
    sent = (authorization or "").removeprefix("Bearer ")
    # no token configured: nobody may push (fail closed)
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "pushing live standings needs the stack's token.")


def _live_push_available(services: ServicesDep) -> None:
    if not services.live_push:
        raise ApiError(
            404,
            "not_available",
            f"this deployment pushes live standings over AWS IoT Core: subscribe to the topic {IOT_TOPIC_HINT}.",
        )


@router.get(
    "/classes/{classId}/races/{raceId}/live/stream",
    response_class=EventSourceResponse,
    dependencies=[Depends(_live_push_available), Depends(class_exists)],
    # the errors are JSON although the stream is text/event-stream: FastAPI would document an extra
    # response's model under the route's media type, so the content is spelled out
    responses={
        404: {
            "description": "no such class, or no push channel here (on AWS: IoT Core)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        },
        503: {
            "description": "the server streams to its maximum of clients (Retry-After)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        },
    },
)
async def race_live_stream(
    class_id: ClassId,
    race_id: RaceId,
    store: StoreDep,
    queue: Annotated[asyncio.Queue[dict[str, Any]], Depends(_subscription, scope="request")],
    last_event_id: Annotated[str | None, Header()] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Server-Sent Events: `subscribed`, a `snapshot` (the `/live` answer; version 0 and no rows
    before the race's first standings), then a `changes` (or `resync`) event per live update of the
    race, each with the LIVE version as its id (docs/api.md, "Live standings: push"). With
    `Last-Event-ID` equal to the current version the snapshot is left out. Local stack only; on AWS
    subscribe to the IoT Core topic of the race. 503 with `Retry-After` when the server already
    streams to its maximum."""
    snapshot = await run_in_threadpool(live_snapshot, store, race_id, class_id) or LiveStandings(
        race_id=race_id, class_id=class_id, window_end=None, version=0, updated_at=None, standings=[]
    )
    yield ServerSentEvent(
        event="subscribed", data={"raceId": race_id, "classId": class_id, "version": snapshot.version},
        retry=RECONNECT_MS,
    )  # fmt: skip
    if last_event_id != str(snapshot.version):
        yield ServerSentEvent(
            event="snapshot", id=str(snapshot.version), data=snapshot.model_dump(by_alias=True, mode="json")
        )
    while True:
        message = await queue.get()
        yield ServerSentEvent(event=message["type"], id=str(message["version"]), data=message)


@internal.post("/internal/live", include_in_schema=False, status_code=202, dependencies=[Depends(_stack_token)])
async def publish_live(message: LiveMessage, hub: HubDep) -> Delivered:
    """The local publisher's endpoint: fan a change message out to the SSE subscribers of
    its race, ``(raceId, classId)``."""
    doc = message.model_dump(by_alias=True)
    return Delivered(subscribers=hub.publish(RaceKey(message.race_id, message.class_id), doc))
