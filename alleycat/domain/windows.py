"""Tumbling-window maths, as Lambda's event source mapping applies it.

Windows are per shard and follow record arrival time (``approximateArrivalTimestamp``), not event
time. Boundaries are aligned to multiples of the window size since the Unix epoch, so a 15 s window
runs [hh:mm:00, hh:mm:15), [hh:mm:15, hh:mm:30), ...
"""

from __future__ import annotations

from datetime import UTC, datetime

MAX_TUMBLING_WINDOW_SECONDS = 900
MAX_STATE_BYTES = 1024 * 1024


def window_start(arrival_s: float, size_s: int) -> int:
    """Start (epoch seconds) of the window holding a record that arrived at ``arrival_s``."""
    if not 1 <= size_s <= MAX_TUMBLING_WINDOW_SECONDS:
        raise ValueError(f"TumblingWindowInSeconds must be 1..{MAX_TUMBLING_WINDOW_SECONDS}, got {size_s}")
    return int(arrival_s // size_s) * size_s


def window_bounds(arrival_s: float, size_s: int) -> tuple[int, int]:
    start = window_start(arrival_s, size_s)
    return start, start + size_s


def iso_utc(epoch_s: float) -> str:
    """The window timestamps as Lambda writes them: 2021-05-05T18:51:15Z."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
