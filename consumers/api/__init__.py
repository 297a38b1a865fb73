"""The leaderboard API. ``handler`` is the Lambda entry point (API Gateway HTTP API, via Mangum)."""

from __future__ import annotations

from functools import cache
from typing import Any

from mangum import Mangum

from alleycat import logs
from alleycat.settings import Settings
from consumers.api.app import create_app


@cache
def _adapter() -> Mangum:
    logs.setup()
    return Mangum(create_app(Settings.from_env(), live_push=False), lifespan="off")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _adapter()(event, context)
