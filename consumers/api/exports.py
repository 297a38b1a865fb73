"""The per-second personal bests of a class: the export the Glue job writes to the lake
(``glue_jobs.bests_export``: gzip JSON ``{racerId: {second: output}}`` at
``LakeLayout.bests_export/class-<c>.json.gz``), cached in memory as the JSON bytes to serve.
glue_jobs is not in the Lambda package, so the object's name is built here from LakeLayout; the
API tests write it with the Glue job's own writer."""

from __future__ import annotations

import gzip
import json
import threading
import time

from alleycat.lake import uris
from alleycat.lake.location import Lake

EXPORT_TTL_S = 30.0


class ExportMissing(LookupError):
    """No export of that class exists yet."""


class BestsExports:
    """The exports of ``lake`` (its URI and, on the local stack, the directory standing in for S3)."""

    def __init__(self, lake: Lake, ttl_s: float = EXPORT_TTL_S) -> None:
        self.lake = lake
        self.ttl_s = ttl_s
        self._cache: dict[int, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def uri(self, class_id: int) -> str:
        return uris.join(self.lake.layout.bests_export, f"class-{class_id}.json.gz")

    def get(self, class_id: int) -> bytes:
        """The export of ``class_id`` as JSON bytes. Raises ExportMissing, or ValueError/OSError if unreadable."""
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(class_id)
        if hit and hit[0] > now:
            return hit[1]
        fs, path = self.lake.filesystem(self.uri(class_id))
        try:
            with fs.open_input_stream(path, compression=None) as stream:
                blob = stream.read()
        except FileNotFoundError:
            raise ExportMissing(self.uri(class_id)) from None
        body = gzip.decompress(blob)
        if not isinstance(json.loads(body), dict):
            raise ValueError(f"{self.uri(class_id)} is not a JSON object")
        with self._lock:
            self._cache[class_id] = (now + self.ttl_s, body)
        return body
