"""What an event source mapping's shard poller reports about itself: lag and counters.

Lambda publishes ``IteratorAge`` and the event source mapping's counters as CloudWatch metrics; the
local runtime writes the same figures, per mapping and shard, to
``<home>/esm/status/<mapping>/<shardId>.json`` (atomically, at most once a second, and when the
poller stops), where ``alleycat status`` reads them:

* ``behindMs``: MillisBehindLatest of the last read (how far the oldest unread record is behind now;
  Kinesis only, DynamoDB Streams has no such figure);
* ``iteratorAgeMs``: Lambda's IteratorAge, the age of the last record of the last batch when it was
  handed to the function;
* ``checkpoint`` and ``checkpointAt``: the last sequence number whose processing is complete;
* counters since the poller started: ``polled`` (records read), ``invoked`` (function calls),
  ``failed`` (calls that failed), ``retried`` (batch retries), ``deadLettered`` (records sent to
  the on-failure destination), ``dropped`` (records given up with nowhere to go; always 0 here, the
  destination is always set), ``throttled`` (reads refused by the shard's quota).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from alleycat.support.files import atomic_write_text

WRITE_EVERY_S = 1.0


@dataclass
class ShardMetrics:
    mapping: str
    shard_id: str
    behind_ms: int = 0
    iterator_age_ms: int | None = None
    checkpoint: str | None = None
    checkpoint_at: float | None = None
    polled: int = 0
    invoked: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    dropped: int = 0
    throttled: int = 0
    updated_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {_camel(f.name): getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def status_dir(home: Path) -> Path:
    return home / "esm" / "status"


class MetricsFile:
    """Writes one poller's metrics, at most once a second unless forced."""

    def __init__(self, home: Path, metrics: ShardMetrics) -> None:
        self.path = status_dir(home) / metrics.mapping / f"{metrics.shard_id}.json"
        self.metrics = metrics
        self._written = 0.0

    def write(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._written < WRITE_EVERY_S:
            return
        self._written = now
        self.metrics.updated_at = time.time()
        atomic_write_text(self.path, json.dumps(self.metrics.to_json()))


def read_all(home: Path) -> list[dict[str, Any]]:
    """Every poller's last report, by mapping then shard (an unreadable file is skipped: it is being
    replaced)."""
    reports = []
    for path in sorted(status_dir(home).glob("*/*.json")):
        try:
            reports.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    return reports
