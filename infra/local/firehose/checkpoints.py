"""The local Firehose's per-shard checkpoints of its source stream, in one JSON file replaced atomically.

``{"sourceKinesisStreamArn": ..., "shards": {shardId: {"sequenceNumber": ..., "finished": bool}}}``:
the last record delivered of each shard, and whether a closed shard is delivered to its end (its
children may be read then). A file of another source stream is refused: the delivery stream needs
another name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alleycat.errors import StackError
from alleycat.support.files import atomic_write_text


@dataclass(frozen=True, slots=True)
class Checkpoint:
    sequence_number: str | None  # the last record delivered
    finished: bool = False  # a closed shard read to its end and delivered

    def to_json(self) -> dict[str, Any]:
        return {"sequenceNumber": self.sequence_number, "finished": self.finished}


Checkpoints = dict[str, Checkpoint]  # shardId -> checkpoint


class CheckpointStore:
    def __init__(self, path: Path, source_stream_arn: str) -> None:
        self.path = path
        self.source_stream_arn = source_stream_arn

    def load(self) -> Checkpoints:
        try:
            doc = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        if doc["sourceKinesisStreamArn"] != self.source_stream_arn:
            raise StackError(
                f"{self.path} holds checkpoints of {doc['sourceKinesisStreamArn']}, not of {self.source_stream_arn}: "
                "give this delivery stream another name"
            )
        return {shard: Checkpoint(cp["sequenceNumber"], cp["finished"]) for shard, cp in doc["shards"].items()}

    def save(self, checkpoints: Checkpoints) -> None:
        doc = {
            "sourceKinesisStreamArn": self.source_stream_arn,
            "shards": {shard: cp.to_json() for shard, cp in checkpoints.items()},
        }
        atomic_write_text(self.path, json.dumps(doc, indent=1), fsync=True)
