"""The objects the local Firehose writes: named as Firehose names them, written atomically and durably.

Each object is written under a hidden temporary name in its directory, fsynced and renamed into
place (``alleycat.support.files``), so a reader of the lake never sees a partial object and the
checkpoints advance only past data that is on disk.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from alleycat.lake.schema import RAW_SCHEMA
from alleycat.support.files import atomic_write, atomic_write_bytes

VERSION = 1  # the delivery stream version in object names; bumped by every configuration change on AWS


def object_name(stream_name: str, when: datetime, extension: str = "") -> str:
    """``<name>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>``, as Firehose names objects (UTC)."""
    return f"{stream_name}-{VERSION}-{when.astimezone(UTC):%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{extension}"


def write_parquet(rows: list[dict[str, Any]], path: Path) -> None:
    table = pa.Table.from_pylist(rows, schema=RAW_SCHEMA)
    atomic_write(path, lambda f: pq.write_table(table, f, compression="snappy"), fsync=True)


def write_json_lines(docs: list[dict[str, Any]], path: Path) -> None:
    body = b"".join(json.dumps(doc, separators=(",", ":")).encode() + b"\n" for doc in docs)
    atomic_write_bytes(path, body, fsync=True)
