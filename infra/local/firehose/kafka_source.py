"""The delivery stream's Kafka source: Firehose with Amazon MSK as its source, locally.

One kafka-python consumer in the delivery stream's consumer group reads the topic (every
partition; auto-commit off, static membership so a restarted Firehose takes its partitions back at
once). A new group starts at the earliest offset, as the template's ``ReadFromTimestamp`` of the
epoch makes Firehose do. The offsets after the records read are committed (``checkpoint``) only
once the delivery stream has written their objects: a crash before that, a failed commit, or a
broker that went away leaves them where they were, and the records are read and delivered again
(at least once; the Glue job dedups by record key, so its upsert stays idempotent).

The consumer is made on the first read and again after a read fails (the broker restarting), so
the delivery stream starts, and carries on, while the broker is away.

Differences from Firehose: AWS keeps its read position to itself and shows no consumer group;
here the group ``<delivery stream name>`` is on the broker, so ``alleycat status`` shows its lag.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from alleycat.settings import Settings
from infra.local.esm.shapes import ACCOUNT
from infra.local.firehose.records import KafkaRecord, SourceRecord

log = logging.getLogger("alleycat.firehose")

MAX_RECORDS = 10_000  # a read's most records, as a Kinesis GetRecords
POLL_MS = 100
SESSION_TIMEOUT_MS = 10_000  # a member that stops heartbeating leaves the group after this
CLUSTER_NAME = "alleycat-local"


def cluster_arn(settings: Settings) -> str:
    """The local broker as an MSK cluster ARN (the transformation event's ``sourceMSKArn``)."""
    return f"arn:aws:kafka:{settings.region}:{ACCOUNT}:cluster/{CLUSTER_NAME}/local"


class KafkaTopicSource:
    def __init__(self, settings: Settings, group_id: str) -> None:
        self.settings = settings
        self.topic = settings.kafka_topic
        self.name = self.topic
        self.group_id = group_id
        self.arn = cluster_arn(settings)
        self._consumer: Any | None = None
        self.read_to: dict[tuple[str, int], int] = {}  # (topic, partition) -> last offset read
        self.committed: dict[tuple[str, int], int] = {}  # (topic, partition) -> the group's committed offset
        self._newest_ms = 0  # the Kafka timestamp of the newest record read
        self.failed_reads = 0

    def _connect(self) -> Any:
        from kafka import KafkaConsumer

        return KafkaConsumer(
            self.topic,
            bootstrap_servers=self.settings.kafka_bootstrap.split(","),
            group_id=self.group_id,
            group_instance_id=f"{self.group_id}-local-1",
            client_id=f"firehose-{self.group_id}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=MAX_RECORDS,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=SESSION_TIMEOUT_MS // 4,
        )

    def read(self) -> list[SourceRecord]:
        """One poll of every assigned partition; nothing (and a new consumer next time) if it fails."""
        try:
            if self._consumer is None:
                self._consumer = self._connect()
            polled = self._consumer.poll(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
        except Exception as exc:  # NoBrokersAvailable, KafkaConnectionError and the like: the broker is away
            self.failed_reads += 1
            log.warning("Kafka source read failed; reconnecting", extra={"error": f"{type(exc).__name__}: {exc}"})
            self._drop_consumer()
            return []
        out: list[SourceRecord] = []
        for messages in polled.values():
            for m in messages:
                out.append(KafkaRecord(m.value, m.topic, m.partition, m.offset, m.timestamp))
                self.read_to[(m.topic, m.partition)] = max(m.offset, self.read_to.get((m.topic, m.partition), -1))
                self._newest_ms = max(self._newest_ms, m.timestamp)
        return out

    def pending(self) -> bool:
        return False  # a topic's partitions never end

    def caught_up(self) -> bool:
        """Every partition of the topic is assigned and read to its end."""
        consumer = self._consumer
        if consumer is None:
            return False
        try:
            assigned = consumer.assignment()
            partitions = consumer.partitions_for_topic(self.topic) or set()
            if not partitions or len(assigned) < len(partitions):
                return False
            ends = consumer.end_offsets(list(assigned))
            return all(consumer.position(tp) >= end for tp, end in ends.items())
        except Exception:  # the broker went away meanwhile: not known to be caught up
            return False

    def checkpoint(self) -> None:
        """Commit the offsets after everything read (and, by now, delivered)."""
        from kafka.structs import OffsetAndMetadata, TopicPartition

        due = {tp: offset + 1 for tp, offset in self.read_to.items() if self.committed.get(tp, -1) < offset + 1}
        if not due or self._consumer is None:
            return
        try:
            self._consumer.commit({TopicPartition(*tp): OffsetAndMetadata(o, "", -1) for tp, o in due.items()})
        except Exception as exc:  # the broker is away or the group rebalanced: committed by a later delivery
            log.warning("Kafka source commit failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        self.committed.update(due)

    def behind_ms(self) -> int:
        """How far the newest record read is behind now, while some partition is not read to its end."""
        if self._consumer is None or not self._newest_ms:
            return 0
        try:
            lagging = any(
                (self._consumer.highwater(tp) or 0) > self._consumer.position(tp) for tp in self._consumer.assignment()
            )
        except Exception:
            return 0
        return max(0, int(time.time() * 1000) - self._newest_ms) if lagging else 0

    def status(self) -> dict[str, Any]:
        return {
            "throttled": 0,
            "failedReads": self.failed_reads,
            "partitions": {f"{t}-{p}": {"committed": o} for (t, p), o in sorted(self.committed.items())},
        }

    def _drop_consumer(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with contextlib.suppress(Exception):
                consumer.close(autocommit=False)

    def close(self) -> None:
        self._drop_consumer()
