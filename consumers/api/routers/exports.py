"""``GET /classes/{classId}/per-second-bests``: the Glue job's export of a class, from the lake."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Response

from consumers.api.errors import ApiError, not_found
from consumers.api.exports import ExportMissing
from consumers.api.params import ERROR, NOT_FOUND, ClassId, known_class
from consumers.api.services import ExportsDep

PER_SECOND_BESTS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "object", "additionalProperties": {"type": "number"}},
}

router = APIRouter(tags=["classes"])
log = logging.getLogger("alleycat.api")


@router.get(
    "/classes/{classId}/per-second-bests",
    responses={
        200: {
            "description": "`{racerId: {second: output}}`: each racer's best output at each second of a race",
            "content": {"application/json": {"schema": PER_SECOND_BESTS_SCHEMA}},
        },
        **NOT_FOUND,
        503: {**ERROR, "description": "the export exists but cannot be read"},
    },
)
def class_per_second_bests(class_id: ClassId, exports: ExportsDep) -> Response:
    """The all-time per-second personal bests of a class: the lake export `class-<c>.json.gz`, cached.
    Errors name no lake location (that goes to the log)."""
    known_class(class_id)
    try:
        return Response(exports.get(class_id), media_type="application/json")
    except ExportMissing:
        log.info("bests export missing", extra={"classId": class_id, "uri": exports.uri(class_id)})
        raise not_found(
            f"the per-second bests of class {class_id} have not been exported yet; "
            "try again after the export job has run."
        ) from None
    except (OSError, EOFError, ValueError) as exc:
        log.error("bests export unreadable", exc_info=exc, extra={"classId": class_id, "uri": exports.uri(class_id)})
        raise ApiError(
            503, "export_unreadable", f"the per-second bests of class {class_id} cannot be read; retry later."
        ) from None
