"""The all-time bests export: one gzip JSON object per class, ``{racerId: {second: output}}``, the
history file the series' front end loads before a race (``LakeLayout.bests_export/class-<c>.json.gz``).

Written atomically: locally to a temporary sibling then renamed; on S3 with one PUT (an object
becomes visible only when complete). Keys are strings (JSON), outputs numbers with 3 decimals.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable

import pyarrow.fs as pafs

from alleycat import lake
from alleycat.resources import LakeLayout


def export_uri(layout: LakeLayout, class_id: int) -> str:
    return lake.join(layout.bests_export, f"class-{class_id}.json.gz")


def document(bests: Iterable[tuple[int, int, float]]) -> dict[str, dict[str, float]]:
    """``{racerId: {second: output}}`` from ``(racer_id, second, output)`` rows, sorted for stable bytes."""
    doc: dict[str, dict[str, float]] = {}
    for racer_id, second, output in sorted(bests):
        doc.setdefault(str(racer_id), {})[str(second)] = output
    return doc


def write(layout: LakeLayout, class_id: int, bests: Iterable[tuple[int, int, float]]) -> str:
    """Replace the class's export with ``bests``; returns its URI."""
    uri = export_uri(layout, class_id)
    body = gzip.compress(json.dumps(document(bests), separators=(",", ":")).encode(), mtime=0)
    fs, path = lake.filesystem(uri)
    if isinstance(fs, pafs.LocalFileSystem):
        fs.create_dir(os.path.dirname(path), recursive=True)
        temporary = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.tmp")
        with fs.open_output_stream(temporary, compression=None) as out:
            out.write(body)
        os.replace(temporary, path)
    else:
        with fs.open_output_stream(path, compression=None) as out:
            out.write(body)
    return uri


def read(layout: LakeLayout, class_id: int) -> dict[str, dict[str, float]]:
    fs, path = lake.filesystem(export_uri(layout, class_id))
    with fs.open_input_stream(path, compression=None) as stream:
        return json.loads(gzip.decompress(stream.read()))
