"""Checkpoints of a mapping: one JSON file per shard, written atomically (write, fsync, rename).

``<home>/esm/<mapping>/<shardId>.json`` holds ``{"sequenceNumber": ..., "finished": bool,
"startedAt": epoch_s}``: the last sequence number whose processing is complete, whether the (closed)
shard is drained, and when the mapping first read the shard (to resume a LATEST start).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path


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
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(shard_id)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w") as fh:
            json.dump(asdict(checkpoint), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def advance(self, shard_id: str, sequence_number: str) -> None:
        current = self.load(shard_id) or Checkpoint()
        self.save(shard_id, Checkpoint(sequence_number, current.finished, current.started_at))

    def finish(self, shard_id: str) -> None:
        current = self.load(shard_id) or Checkpoint()
        self.save(shard_id, Checkpoint(current.sequence_number, True, current.started_at))
