"""The all-time bests export: one gzip JSON object per class, ``{racerId: {second: output}}``, the
history file the series' front end loads before a race (``LakeLayout.bests_export/class-<c>.json.gz``).

Written atomically (``Lake.write``: locally a temporary sibling renamed into place; on S3 one PUT,
an object becomes visible only when complete). Keys are strings (JSON), outputs numbers with 3
decimals.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from typing import Any

from alleycat.lake import uris
from alleycat.lake.location import Lake


def export_uri(lake: Lake, class_id: int) -> str:
    return uris.join(lake.layout.bests_export, f"class-{class_id}.json.gz")


def document(bests: Iterable[tuple[int, int, float]]) -> dict[str, dict[str, float]]:
    """``{racerId: {second: output}}`` from ``(racer_id, second, output)`` rows, sorted for stable bytes."""
    doc: dict[str, dict[str, float]] = {}
    for racer_id, second, output in sorted(bests):
        doc.setdefault(str(racer_id), {})[str(second)] = output
    return doc


def write(lake: Lake, class_id: int, bests: Iterable[tuple[int, int, float]]) -> str:
    """Replace the class's export with ``bests``; returns its URI."""
    body = gzip.compress(json.dumps(document(bests), separators=(",", ":")).encode(), mtime=0)
    return lake.write(export_uri(lake, class_id), lambda out: out.write(body))


def read(lake: Lake, class_id: int) -> dict[str, Any]:
    fs, path = lake.filesystem(export_uri(lake, class_id))
    with fs.open_input_stream(path, compression=None) as stream:
        doc: dict[str, Any] = json.loads(gzip.decompress(stream.read()))
        return doc
