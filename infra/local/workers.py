"""The pipeline's own processes of the local stack, started by ``alleycat up`` after the servers.

* ``api``: the leaderboard API (``alleycat api``), healthy when ``GET /health`` answers 200;
* ``consumer``: the event source mappings (``alleycat consume``), healthy while its heartbeat is fresh;
* ``firehose``: the local Firehose (``alleycat lake --only firehose``), healthy once it reports;
* ``lake``: the streaming Glue job (``alleycat lake --only job``), healthy once streaming.

The Firehose and the job are two processes, as they are two services: either may crash and come
back alone. A worker is healthy by a file that names its pid, so a file left by a killed
predecessor never passes for the new process.

Each runs ``python -m alleycat.cli <command>`` with the stack's environment
(``infra.local.environment``), so it builds the same ``Settings`` as the process that started it.

The lake's two run at a lower priority (``LAKE_NICENESS``): their freshness is counted in minutes
(Firehose buffers for up to a minute, a micro-batch takes seconds of both cores), the standings' in
seconds, and on AWS they run on machines of their own; on one machine at equal weight, the Glue
job's Spark took a third of the two cores in a sustained run and the emulator the real-time path
reads from got less than the core it needs (docs/design.md, "Real-time throughput").
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from alleycat.settings import Settings
from infra.local.environment import stack_env
from infra.local.esm.runtime import heartbeat_path
from infra.local.firehose.delivery import status_path as firehose_status_path
from infra.local.lake import ready_file
from infra.local.processes import ProcessSpec, ProcessTable

HEARTBEAT_FRESH_S = 10.0  # the consumer touches its heartbeat every second
LAKE_NICENESS = 10  # CFS weight 110 against 1,024 at 0: the lake gets what the real-time path leaves


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "alleycat.cli", *args]


def _names_running(path: Path, settings: Settings, name: str) -> Callable[[], bool]:
    """Healthy when ``path`` (a pid, or JSON with ``pid``) names the running worker ``name``."""

    def healthy() -> bool:
        try:
            text = path.read_text()
        except FileNotFoundError:
            return False
        try:
            doc = json.loads(text)
        except ValueError:
            return False
        pid = doc.get("pid") if isinstance(doc, dict) else doc
        return pid is not None and pid == ProcessTable(settings.home).pid(name)

    return healthy


def api_answers(settings: Settings) -> bool:
    """GET {api_url}/health answers 200."""
    try:
        # bandit B310: the API URL from the settings
        with urllib.request.urlopen(f"{settings.api_url}/health", timeout=1) as answer:  # nosec B310
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def api_spec(settings: Settings) -> ProcessSpec:
    return ProcessSpec(
        name="api",
        argv=_command("api"),
        port=settings.api_port,
        healthy=lambda: api_answers(settings),
        env=stack_env(settings),
        start_timeout_s=30.0,
    )


def consumer_spec(settings: Settings) -> ProcessSpec:
    """Live updates go to the local API's ``/internal/live`` (``ALLEYCAT_LIVE_URL`` of the stack's environment)."""
    beat = heartbeat_path(settings.home)
    ours = _names_running(beat, settings, "consumer")

    def healthy() -> bool:
        try:
            return time.time() - beat.stat().st_mtime < HEARTBEAT_FRESH_S and ours()
        except FileNotFoundError:
            return False

    return ProcessSpec(name="consumer", argv=_command("consume"), port=None, healthy=healthy, env=stack_env(settings))


def firehose_spec(settings: Settings) -> ProcessSpec:
    return ProcessSpec(
        name="firehose",
        argv=_command("lake", "--only", "firehose"),
        port=None,
        healthy=_names_running(firehose_status_path(settings.home), settings, "firehose"),
        env=stack_env(settings),
        start_timeout_s=30.0,
        niceness=LAKE_NICENESS,
    )


def lake_spec(settings: Settings) -> ProcessSpec:
    """Spark takes its time to start: up to three minutes until the job streams."""
    return ProcessSpec(
        name="lake",
        argv=_command("lake", "--only", "job"),
        port=None,
        healthy=_names_running(ready_file(settings), settings, "lake"),
        env=stack_env(settings),
        start_timeout_s=180.0,
        niceness=LAKE_NICENESS,
    )


def workers(settings: Settings, lake: bool = True) -> list[ProcessSpec]:
    """The workers in start order; without the lake (Firehose and Spark) when ``lake`` is False."""
    specs = [api_spec(settings), consumer_spec(settings)]
    return [*specs, firehose_spec(settings), lake_spec(settings)] if lake else specs
