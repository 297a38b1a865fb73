"""``alleycat api``: serve the leaderboard API with uvicorn on 127.0.0.1:``settings.api_port``."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from alleycat.adapters import aws
from alleycat.settings import Settings
from alleycat.support.heap import freeze_startup_heap
from consumers.api.app import create_app
from consumers.api.cursor import signing_key

log = logging.getLogger("alleycat.api")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "api",
        help="serve the leaderboard API on 127.0.0.1:$ALLEYCAT_API_PORT (8080); docs at /docs, /openapi.json",
    )
    p.set_defaults(func=serve)


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until interrupted; the app pushes live standings over its own SSE channel."""
    app = create_app(
        settings,
        dynamodb=aws.client("dynamodb", settings.region),
        cursor_key=signing_key(settings, lambda: aws.client("secretsmanager", settings.region), fail_closed=False),
    )
    freeze_startup_heap()
    log.warning("api serving", extra={"url": settings.api_url, "table": settings.table})
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=settings.api_port,
        log_config=None,  # our JSON logs (alleycat.logs), set up by the CLI
        access_log=False,
    )
    return 0
