"""The raw landing zone as files: list what Firehose delivered, and write events in its format.

Layout: ``LakeLayout.raw/dt=YYYY-MM-DD/hour=HH/<object>.parquet`` with ``RAW_SCHEMA`` (partition
from the event's deviceTimestamp, ``raw_partition``). ``write_events`` writes that format
directly (tests, benchmarks, backfills of saved events); the local Firehose
(``infra.local.firehose``) is the normal writer. Each object appears whole (``Lake.write``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from itertools import count
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from alleycat.domain.events import Telemetry
from alleycat.lake import uris
from alleycat.lake.location import Lake
from alleycat.lake.schema import RAW_SCHEMA, raw_partition, raw_row

_sequence = count()


@dataclass(frozen=True)
class RawFile:
    path: str
    size: int
    mtime_ms: int


def list_files(lake: Lake) -> list[RawFile]:
    """Every delivered Parquet object under the raw zone, oldest first."""
    fs, root = lake.filesystem(lake.layout.raw)
    if fs.get_file_info(root).type == pafs.FileType.NotFound:
        return []
    infos = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    files = [
        RawFile(i.path, i.size or 0, int(i.mtime.timestamp() * 1000) if i.mtime else 0)
        for i in infos
        if i.type == pafs.FileType.File and i.base_name.endswith(".parquet") and not i.base_name.startswith((".", "_"))
    ]
    return sorted(files, key=lambda f: (f.mtime_ms, f.path))


def rows(events: Iterable[Telemetry], arrival_ms: int, shard_id: str = "shardId-000000000000") -> list[dict[str, Any]]:
    """Raw rows for ``events`` as Firehose's transform makes them."""
    return [raw_row(ev, arrival_ms, shard_id, str(next(_sequence))) for ev in events]


def write_events(lake: Lake, events: Iterable[Telemetry], arrival_ms: int, object_name: str) -> list[str]:
    """Write ``events`` as one Parquet object per partition; returns the URIs written.

    Each object appears whole (``Lake.write``), so a reader never sees part of one."""
    by_partition: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows(events, arrival_ms):
        part = raw_partition(row["device_timestamp"])
        by_partition.setdefault((part["dt"], part["hour"]), []).append(row)
    written = []
    for (dt, hour), part_rows in sorted(by_partition.items()):
        table = pa.Table.from_pylist(part_rows, schema=RAW_SCHEMA)
        uri = uris.join(lake.layout.raw, f"dt={dt}", f"hour={hour}", f"{object_name}.parquet")
        written.append(lake.write(uri, partial(pq.write_table, table)))
    return written
