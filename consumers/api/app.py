"""The leaderboard API: FastAPI routes over the single table, the bests export and the live channel.

It also serves the race page at ``/`` (``consumers.api.routers.page``).

The same app runs under uvicorn locally (``alleycat api``) and on Lambda behind an API Gateway REST
API (``consumers.api.handler``, through Mangum). docs/api.md describes every path.

``create_app`` builds what the routes use once (``consumers.api.services``) from the settings and
the clients its caller, the process's edge, passes in; the routes live in ``consumers.api.routers``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from alleycat.lake.location import Lake
from alleycat.settings import Settings
from consumers.api import errors
from consumers.api.cursor import CursorSigner
from consumers.api.exports import BestsExports
from consumers.api.live import LiveHub
from consumers.api.response_cache import ResponseCache
from consumers.api.routers import classes, exports, health, live, page, racers, races
from consumers.api.services import Services
from consumers.api.store import Store


def create_app(settings: Settings, *, dynamodb: Any, cursor_key: bytes, live_push: bool = True) -> FastAPI:
    """The app over ``settings.table`` through ``dynamodb`` (a boto3 DynamoDB client), signing page
    cursors with ``cursor_key`` (``consumers.api.cursor.signing_key``). ``live_push``: serve the
    in-process SSE channel (local); off on Lambda, where IoT Core does it."""
    app = FastAPI(
        default_response_class=errors.SafeJSONResponse,
        title="Alleycat leaderboard API",
        version="1.0.0",
        description="Race leaderboards, live standings, class and racer records. Errors are "
        '`{"error": code, "message": sentence}`. Paged lists return `nextCursor`; pass it back as `cursor`.',
    )
    app.state.services = Services(
        settings=settings,
        store=Store(settings.table, dynamodb, CursorSigner(cursor_key)),
        exports=BestsExports(Lake(settings.lake_uri, settings.local_s3_root)),
        hub=LiveHub(settings.live_subscribers_max),
        answers=ResponseCache(),
        live_push=live_push,
    )
    errors.install(app)
    for router in (health.router, classes.router, races.router, live.router, exports.router, racers.router):
        app.include_router(router)
    if live_push:
        app.include_router(live.internal)
    page.install(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document; data endpoints declare our 400 and 503 error shape instead of its 422."""
    if app.openapi_schema is None:
        doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        error = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
        for path in doc["paths"].values():
            for operation in path.values():
                responses = operation["responses"]
                if responses.pop("422", None) is not None or "parameters" in operation:
                    responses["400"] = {"description": "malformed id, limit or cursor", "content": error}
                    responses.setdefault("503", {"description": "a backing service is unavailable", "content": error})
        schemas = doc.get("components", {}).get("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        app.openapi_schema = doc
    return app.openapi_schema
