"""What the routers share: the path and query parameters with their ranges, the paths the answers
link to, the class check and the documented 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from alleycat.domain.events import CLASS_IDS, MAX_RACER_ID
from consumers.api.errors import not_found
from consumers.api.models import ErrorBody

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_RACE_ID = 2**53

RaceId = Annotated[int, Path(alias="raceId", ge=0, le=MAX_RACE_ID, description="a race id, 0..2^53")]
RacerId = Annotated[int, Path(alias="racerId", ge=0, le=MAX_RACER_ID, description="a racer id, 0..99,999,999")]
ClassId = Annotated[int, Path(alias="classId", description=f"a class id, {CLASS_IDS.start}..{CLASS_IDS.stop - 1}")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="entries per page, 1..1000")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2048,
        pattern=r"^[A-Za-z0-9_-]+$",
        description=(
            "the `nextCursor` of the previous page of the same listing, unchanged: an opaque, signed "
            "base64url token. Any other value (edited, made up, or from another listing) is a 400 "
            "`invalid_cursor`."
        ),
    ),
]

Responses = dict[int | str, dict[str, Any]]  # the type of a route's ``responses``
ERROR: dict[str, Any] = {"model": ErrorBody}
NOT_FOUND: Responses = {404: {**ERROR, "description": "no such race, class or racer (or nothing recorded for it yet)"}}


def race_path(race_id: int, class_id: int) -> str:
    """The path of a race: a race is (raceId, classId), so it lives under its class."""
    return f"/classes/{class_id}/races/{race_id}"


def known_class(class_id: int) -> None:
    """A 404 unless ``class_id`` is one of the classes. Not a range on ``ClassId``: an unknown class
    is an unknown resource, like any other."""
    if class_id not in CLASS_IDS:
        raise not_found(f"class {class_id} does not exist; the classes are listed at /classes.")


def class_exists(class_id: ClassId) -> None:
    """``known_class`` as a dependency: checked before a streamed answer starts."""
    known_class(class_id)
