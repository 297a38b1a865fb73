"""TRANSITION (helper C -> helper D): the API's ProcessSpec for ``alleycat up`` until
``infra/local/workers.py`` has it; the command itself is ``alleycat.cli.api``. Deleted then."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from alleycat.settings import Settings
from infra.local.processes import ProcessSpec
from infra.local.stack import env_vars


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
        argv=[sys.executable, "-m", "alleycat.cli", "api"],
        port=settings.api_port,
        healthy=lambda: healthy(settings),
        env={**env_vars(settings), "ALLEYCAT_API_PORT": str(settings.api_port)},
        start_timeout_s=30.0,
    )
