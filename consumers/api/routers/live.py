"""The local push channel: a race's Server-Sent-Events stream, and ``POST /internal/live``, where
the local publisher sends each standings message (``internal``, included only when the app pushes;
on Lambda clients subscribe to IoT Core instead and the stream answers 404 ``not_available``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent

from alleycat.domain.events import RaceKey
from consumers.api.errors import ApiError
from consumers.api.live import IOT_TOPIC_HINT
from consumers.api.models import Delivered, LiveMessage
from consumers.api.params import ClassId, RaceId, class_exists
from consumers.api.services import HubDep, ServicesDep

router = APIRouter(tags=["races"])
internal = APIRouter()


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
        }
    },
)
async def race_live_stream(class_id: ClassId, race_id: RaceId, hub: HubDep) -> AsyncIterator[ServerSentEvent]:
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


@internal.post("/internal/live", include_in_schema=False, status_code=202)
async def publish_live(message: LiveMessage, hub: HubDep) -> Delivered:
    """The local publisher's endpoint: fan a standings message out to the SSE subscribers of
    its race, ``(raceId, classId)``."""
    doc = message.model_dump(by_alias=True)
    return Delivered(subscribers=hub.publish(RaceKey(message.race_id, message.class_id), doc))
