"""The local event source mapping runtime (Lambda's poller for Kinesis and DynamoDB Streams).

``alleycat consume`` runs it in the foreground; ``consumer_spec`` is the background process that
``alleycat up`` starts. See ``runtime`` for the design and docs/design.md for the contract.
"""

from __future__ import annotations

import sys
import time

from alleycat.settings import Settings
from infra.local.esm.runtime import heartbeat_path
from infra.local.processes import ProcessSpec

HEARTBEAT_FRESH_S = 10.0


def consumer_spec(settings: Settings) -> ProcessSpec:
    """The consumer (all mappings) as a background process of the local stack. Healthy once its
    heartbeat file is fresh. Live updates go to the local API's ``/internal/live``."""
    from infra.local.stack import env_vars

    beat = heartbeat_path(settings.home)

    def healthy() -> bool:
        try:
            return time.time() - beat.stat().st_mtime < HEARTBEAT_FRESH_S
        except FileNotFoundError:
            return False

    return ProcessSpec(
        name="consumer",
        argv=[sys.executable, "-m", "alleycat.cli", "consume"],
        port=None,
        healthy=healthy,
        env=env_vars(settings),
    )
