"""Where invalid input goes: a ``DeadLetter`` port with a local (files) and an AWS (S3) side.

Invalid data is not a function error: the batch goes on, and each rejected record is kept with
its reason so it can be inspected and replayed. One object per batch; its name derives from the
records' ids, so a replayed batch overwrites its own dead-letter object instead of adding one.

``ALLEYCAT_DEAD_LETTER_BUCKET`` set (with ``ALLEYCAT_DEAD_LETTER_PREFIX``, default ``dead-letter``):
``s3://bucket/prefix/<source>/dt=YYYY-MM-DD/<id>.jsonl``; otherwise
``<ALLEYCAT_HOME>/dead-letter/<source>/<id>.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

from alleycat.adapters import aws
from alleycat.settings import Settings


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
    def put(self, source: str, rejected: list[Rejected]) -> str: ...


def _object_name(rejected: list[Rejected]) -> str:
    digest = hashlib.sha256("\n".join(r.event_id for r in rejected).encode()).hexdigest()[:24]
    return f"{digest}.jsonl"


def _body(rejected: list[Rejected]) -> bytes:
    return "".join(json.dumps(asdict(r), separators=(",", ":")) + "\n" for r in rejected).encode()


class LocalDeadLetter:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def put(self, source: str, rejected: list[Rejected]) -> str:
        folder = self.directory / source
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / _object_name(rejected)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(_body(rejected))
        tmp.replace(path)
        return str(path)


class S3DeadLetter:
    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def put(self, source: str, rejected: list[Rejected]) -> str:
        key = f"{self.prefix}/{source}/dt={time.strftime('%Y-%m-%d', time.gmtime())}/{_object_name(rejected)}"
        body = _body(rejected)
        aws.client("s3").put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/x-ndjson")
        return f"s3://{self.bucket}/{key}"


@cache
def dead_letter() -> DeadLetter:
    bucket = os.environ.get("ALLEYCAT_DEAD_LETTER_BUCKET")
    if bucket:
        return S3DeadLetter(bucket, os.environ.get("ALLEYCAT_DEAD_LETTER_PREFIX", "dead-letter"))
    return LocalDeadLetter(Settings.from_env().dead_letter_dir)
