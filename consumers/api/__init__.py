"""The leaderboard API. ``handler`` is the Lambda entry point (API Gateway REST API proxy, via Mangum).

This module is the edge of the Lambda process: it reads the settings and builds the clients once,
on the first invocation, and hands them to ``create_app``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from mangum import Mangum

from alleycat import logs
from alleycat.adapters import aws
from alleycat.settings import Settings
from alleycat.support.heap import freeze_startup_heap
from consumers.api.app import create_app
from consumers.api.cursor import signing_key


@cache
def _adapter() -> Mangum:
    settings = Settings.from_env()
    logs.setup(settings.log_level)
    app = create_app(
        settings,
        dynamodb=aws.client("dynamodb", settings.region),
        cursor_key=signing_key(settings, lambda: aws.client("secretsmanager", settings.region), fail_closed=True),
        live_push=False,
    )
    adapter = Mangum(app, lifespan="off")
    freeze_startup_heap()
    return adapter


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return _adapter()(event, context)
