"""Reading the source stream: every shard after its checkpoint, children after their parents.

The shard listing, iterators and GetRecords are the event source runtime's ``KinesisSource``; the
order is its ``ready_shards``, with "finished" meaning *delivered to its end and checkpointed*: a
child is read only once its parents' last records are in the lake. The reader remembers how far it
has read (``read_to``) and which closed shards it read to their end (``ended``); the delivery stream
turns that into checkpoints once the records are delivered.

``KinesisStreamSource`` is the delivery stream's source over a reader and its checkpoint file
(``infra.local.firehose.kafka_source`` is the other source, a Kafka topic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.local.esm.shapes import epoch_s, kinesis_data
from infra.local.esm.sources import KinesisSource, ready_shards
from infra.local.firehose.checkpoints import Checkpoint, Checkpoints, CheckpointStore
from infra.local.firehose.records import KinesisRecord, SourceRecord

MAX_RECORDS = 10_000  # GetRecords' limit


class StreamReader:
    def __init__(self, source: KinesisSource) -> None:
        self.source = source
        self.read_to: dict[str, str] = {}  # shard -> last sequence number read (buffered or delivered)
        self.ended: set[str] = set()  # closed shards read to their end
        self.behind_ms: dict[str, int] = {}  # shard -> MillisBehindLatest at its last read
        self._iterators: dict[str, str] = {}
        self.throttled = 0  # reads refused by a shard's quota

    def readable(self, checkpoints: Checkpoints) -> list[str]:
        """Shards to read now: not finished, and every parent still listed already delivered to its end."""

        def delivered(shard_id: str) -> bool:
            return checkpoints.get(shard_id, Checkpoint(None)).finished

        ready = ready_shards(self.source.shards(), delivered)
        return [s.shard_id for s in ready if s.shard_id not in self.ended]

    def read(self, shard_id: str, checkpoints: Checkpoints) -> list[KinesisRecord]:
        """One GetRecords of ``shard_id``, from where it was read to (else its checkpoint, else its start)."""
        iterator = self._iterators.get(shard_id) or self._iterator(shard_id, checkpoints)
        try:
            page = self.source.get_records(iterator, MAX_RECORDS)
        except Exception as exc:
            if self.source.is_throttled(exc):
                self.throttled += 1
                return []  # the shard's read quota is used up: read it again on the next round
            if not self.source.is_expired(exc):
                raise
            self._iterators.pop(shard_id, None)
            return []
        records = [
            KinesisRecord(
                data=kinesis_data(r["Data"]),
                shard_id=shard_id,
                sequence_number=r["SequenceNumber"],
                partition_key=r["PartitionKey"],
                arrival_ms=int(epoch_s(r["ApproximateArrivalTimestamp"]) * 1000),
            )
            for r in page.records
        ]
        if records:
            self.read_to[shard_id] = records[-1].sequence_number
        self.behind_ms[shard_id] = page.behind_ms
        if page.next_iterator:
            self._iterators[shard_id] = page.next_iterator
        else:
            self._iterators.pop(shard_id, None)
            self.ended.add(shard_id)
        return records

    def advanced(self, checkpoints: Checkpoints) -> Checkpoints:
        """The checkpoints once everything read so far is delivered."""
        advanced = dict(checkpoints)
        for shard_id, seq in self.read_to.items():
            advanced[shard_id] = Checkpoint(seq)
        for shard_id in self.ended:
            advanced[shard_id] = Checkpoint(advanced.get(shard_id, Checkpoint(None)).sequence_number, True)
        return advanced

    def _iterator(self, shard_id: str, checkpoints: Checkpoints) -> str:
        after = self.read_to.get(shard_id) or checkpoints.get(shard_id, Checkpoint(None)).sequence_number
        return self.source.iterator(shard_id, "TRIM_HORIZON", after or None, None)


class KinesisStreamSource:
    """The delivery stream's Kinesis source: every readable shard read once a round; the checkpoint
    file advanced (``checkpoint``) only after what was read is delivered."""

    def __init__(self, source: KinesisSource, checkpoints_path: Path) -> None:
        self.arn = source.arn
        self.name = source.stream
        self.reader = StreamReader(source)
        self.store = CheckpointStore(checkpoints_path, self.arn)
        self.checkpoints = self.store.load()

    def read(self) -> list[SourceRecord]:
        out: list[SourceRecord] = []
        for shard_id in self.reader.readable(self.checkpoints):
            out += self.reader.read(shard_id, self.checkpoints)
        return out

    def pending(self) -> bool:
        """A shard ended with nothing buffered: its checkpoint (finished) is due, so its children can be read."""
        return self.reader.advanced(self.checkpoints) != self.checkpoints

    def caught_up(self) -> bool:
        # kinesalite answers a GetRecords with every record up to the tip: one empty round is the tip
        return True

    def checkpoint(self) -> None:
        advanced = self.reader.advanced(self.checkpoints)
        if advanced != self.checkpoints:
            self.store.save(advanced)
            self.checkpoints = advanced

    def behind_ms(self) -> int:
        return max(self.reader.behind_ms.values(), default=0)

    def status(self) -> dict[str, Any]:
        return {
            "throttled": self.reader.throttled,
            "shards": {
                shard: {"behindMs": self.reader.behind_ms.get(shard, 0), **cp.to_json()}
                for shard, cp in sorted(self.checkpoints.items())
            },
        }

    def close(self) -> None:
        """Nothing held open (boto3's client needs no closing)."""
