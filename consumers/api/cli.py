"""``alleycat api``: serve the leaderboard API with uvicorn on 127.0.0.1, and its ProcessSpec for ``up``."""

from __future__ import annotations

import argparse
import logging
import sys
import urllib.error
import urllib.request

import uvicorn

from alleycat import logs
from alleycat.settings import Settings
from consumers.api.app import create_app
from infra.local.processes import ProcessSpec
from infra.local.stack import env_vars

log = logging.getLogger("alleycat.api")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "api",
        help="serve the leaderboard API on 127.0.0.1:$ALLEYCAT_API_PORT (8080); docs at /docs, /openapi.json",
    )
    p.set_defaults(func=_serve)


def _serve(args: argparse.Namespace | None = None) -> int:
    settings = Settings.from_env()
    log.warning("api serving", extra={"url": settings.api_url, "table": settings.table})
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=settings.api_port,
        log_config=None,  # our JSON logs (alleycat.logs), set up by the CLI
        access_log=False,
    )
    return 0


def healthy(settings: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"{settings.api_url}/health", timeout=1) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def api_spec(settings: Settings) -> ProcessSpec:
    """The API as a process of the local stack (``alleycat up``): healthy when GET /health answers."""
    return ProcessSpec(
        name="api",
        argv=[sys.executable, "-m", "consumers.api.cli"],  # `alleycat api`, without the other commands' imports
        port=settings.api_port,
        healthy=lambda: healthy(settings),
        env={**env_vars(settings), "ALLEYCAT_API_PORT": str(settings.api_port)},
        start_timeout_s=30.0,
    )


if __name__ == "__main__":
    logs.setup()
    sys.exit(_serve())
