"""Where invalid input goes: a ``DeadLetter`` port with a local (files) and an AWS (S3) side.

Invalid data is not a function error: the batch goes on, and each rejected record is kept with
its reason so it can be inspected and replayed. One object per batch; its name derives from the
records' ids, so a replayed batch overwrites its own dead-letter object instead of adding one.

``Settings.dead_letter_bucket`` set (with ``dead_letter_prefix``, default ``dead-letter``):
``s3://bucket/prefix/<source>/dt=YYYY-MM-DD/<id>.jsonl``; otherwise
``<home>/dead-letter/<source>/<id>.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from alleycat.adapters import aws
from alleycat.settings import Settings
from alleycat.support.files import atomic_write_bytes


@dataclass(frozen=True)
class Rejected:
    """One record that can never count, and why."""

    reason: str
    detail: str
    event_id: str
    partition_key: str
    arrival_s: float
    data: str  # the record's payload, base64, as received


class DeadLetter(Protocol):
    def put(self, source: str, rejected: list[Rejected]) -> str:
        """Keep ``rejected`` (one batch of ``source``); returns where they went."""
        ...


def _object_name(rejected: list[Rejected]) -> str:
    digest = hashlib.sha256("\n".join(r.event_id for r in rejected).encode()).hexdigest()[:24]
    return f"{digest}.jsonl"


def _body(rejected: list[Rejected]) -> bytes:
    return "".join(json.dumps(asdict(r), separators=(",", ":")) + "\n" for r in rejected).encode()


class LocalDeadLetter:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, source: str, rejected: list[Rejected]) -> str:
        return str(atomic_write_bytes(self.directory / source / _object_name(rejected), _body(rejected)))


class S3DeadLetter:
    def __init__(self, bucket: str, prefix: str, s3: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.s3 = s3

    def put(self, source: str, rejected: list[Rejected]) -> str:
        key = f"{self.prefix}/{source}/dt={time.strftime('%Y-%m-%d', time.gmtime())}/{_object_name(rejected)}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=_body(rejected), ContentType="application/x-ndjson")
        return f"s3://{self.bucket}/{key}"


def dead_letter_for(settings: Settings) -> DeadLetter:
    if settings.dead_letter_bucket:
        return S3DeadLetter(settings.dead_letter_bucket, settings.dead_letter_prefix, aws.client("s3", settings.region))
    return LocalDeadLetter(settings.dead_letter_dir)
