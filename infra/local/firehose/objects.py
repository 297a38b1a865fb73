"""The objects the local Firehose writes: named as Firehose names them, written atomically and durably.

``LocalObjects`` is the raw zone's store (S3's PutObject, locally the lake's directory): each
object is written under a hidden temporary name in its directory, fsynced and renamed into place
(``alleycat.support.files``), so a reader of the lake never sees a partial object and the
checkpoints advance only past data that is on disk. The delivery stream takes any ``ObjectStore``
(``alleycat.testing.raw_zone.FailingObjectWrites`` fails some writes, to test the retries).
"""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from alleycat.lake.schema import RAW_SCHEMA
from alleycat.support.files import atomic_write_bytes

VERSION = 1  # the delivery stream version in object names; bumped by every configuration change on AWS


class ObjectStore(Protocol):
    def put(self, path: Path, body: bytes) -> None:
        """Write the whole object ``body`` at ``path``, or raise ``OSError`` and write nothing."""


class LocalObjects:
    def put(self, path: Path, body: bytes) -> None:
        atomic_write_bytes(path, body, fsync=True)


def object_name(stream_name: str, when: datetime, extension: str = "") -> str:
    """``<name>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid><extension>``, as Firehose names objects (UTC)."""
    return f"{stream_name}-{VERSION}-{when.astimezone(UTC):%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}{extension}"


def parquet_body(rows: list[dict[str, Any]]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=RAW_SCHEMA), sink, compression="snappy")
    return sink.getvalue()


def json_lines_body(docs: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(doc, separators=(",", ":")).encode() + b"\n" for doc in docs)
