"""Checkpoints of a mapping: one JSON file per shard, written atomically (write, fsync, rename).

``<home>/esm/<mapping>/<shardId>.json`` holds ``{"sequenceNumber": ..., "finished": bool,
"startedAt": epoch_s}``: the last sequence number whose processing is complete, whether the (closed)
shard is drained, and when the mapping first read the shard (to resume a LATEST start).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from alleycat.support.files import atomic_write_text


@dataclass(frozen=True)
class Checkpoint:
    sequence_number: str | None = None
    finished: bool = False
    started_at: float | None = None


class CheckpointStore:
    def __init__(self, home: Path, mapping: str) -> None:
        self.dir = home / "esm" / mapping

    def _path(self, shard_id: str) -> Path:
        return self.dir / f"{shard_id}.json"

    def load(self, shard_id: str) -> Checkpoint | None:
        try:
            doc = json.loads(self._path(shard_id).read_text())
        except FileNotFoundError:
            return None
        return Checkpoint(doc.get("sequence_number"), bool(doc.get("finished")), doc.get("started_at"))

    def save(self, shard_id: str, checkpoint: Checkpoint) -> None:
        atomic_write_text(self._path(shard_id), json.dumps(asdict(checkpoint)), fsync=True)

    def advance(self, shard_id: str, sequence_number: str) -> None:
        current = self.load(shard_id) or Checkpoint()
        self.save(shard_id, Checkpoint(sequence_number, current.finished, current.started_at))

    def finish(self, shard_id: str) -> None:
        current = self.load(shard_id) or Checkpoint()
        self.save(shard_id, Checkpoint(current.sequence_number, True, current.started_at))
