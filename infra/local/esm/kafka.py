"""The local event source mapping for Kafka, as Lambda runs one for Amazon MSK or self-managed Kafka.

* One consumer of the mapping's consumer group reads the topic (kafka-python, auto-commit off,
  static membership so a restarted mapping takes its partitions back at once). A new group starts
  at StartingPosition (TRIM_HORIZON: the earliest offset; LATEST: the end); afterwards the group's
  committed offsets decide.
* Records gather until BatchSize or MaximumBatchingWindowInSeconds (500 ms unless set) since the
  first of the batch, then one invoke gets them all (split where they exceed Lambda's 6 MB
  payload), grouped by ``"topic-partition"`` (``shapes.kafka_event``), each partition in offset
  order; batches are invoked one at a time.
* Errors as AWS handles them for Kafka (``delivery.deliver``): the batch is retried
  MaximumRetryAttempts times (BisectBatchOnFunctionError splits it; ReportBatchItemFailures retries
  from the first failed record), records older than MaximumRecordAgeInSeconds are given up, and
  what is given up goes to the on-failure destination (``KafkaFailureDestination``).
* The offsets after a batch are committed only once the batch is done (processed, or given up to
  the destination). A stop, a crash or a failed commit leaves them where they were: the batch is
  delivered again after the restart, so the handler must be idempotent (the Aggregator is).
* A consumer that holds no partition for ``UNASSIGNED_LIMIT_S`` while the topic has partitions is
  replaced by a new one: kafka-python 3.0.12 was seen, with the broker killed -9 mid-rebalance, to
  stay in a group join that neither completes nor fails, its polls answering nothing for as long
  as it lives, which would stall the mapping for good.

Differences from Lambda: one poller (Lambda scales pollers with the partitions' lag), and the
partial-batch answer retries from the first failed record in the batch's order rather than per
partition (more is retried, nothing is skipped).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alleycat.resources import KafkaMappingDef
from alleycat.settings import Settings
from alleycat.support.files import atomic_write_text
from infra.local.esm.delivery import Policy, chunks, deliver, invocation_record, iso_ms
from infra.local.esm.function import Function
from infra.local.esm.metrics import MetricsFile, ShardMetrics
from infra.local.esm.shapes import StreamRecord, kafka_event, kafka_record, kafka_record_id

log = logging.getLogger("alleycat.esm")

POLL_MS = 100
CONNECT_RETRY_S = 1.0
# a member that stops heartbeating leaves the group after this (the broker's minimum is 6 s)
SESSION_TIMEOUT_MS = 10_000
# a healthy join takes well under a session timeout; three are far past any rebalance of one member
UNASSIGNED_LIMIT_S = 3 * SESSION_TIMEOUT_MS / 1000


class InvalidKafkaMapping(ValueError):
    """A Kafka mapping AWS would reject (InvalidParameterValueException)."""


class WedgedConsumer(RuntimeError):
    """The consumer has held no partition of a topic that has some for longer than a join takes."""


def validate(mapping: KafkaMappingDef) -> None:
    if not 1 <= mapping.batch_size <= 10_000:
        raise InvalidKafkaMapping(f"{mapping.name}: BatchSize must be 1..10000")
    if not 0 <= mapping.max_batching_window_ms <= 300_000:
        raise InvalidKafkaMapping(f"{mapping.name}: MaximumBatchingWindowInSeconds must be 0..300")
    if not -1 <= mapping.maximum_retry_attempts <= 10_000:
        raise InvalidKafkaMapping(f"{mapping.name}: MaximumRetryAttempts must be -1..10000")
    if mapping.maximum_record_age_s != -1 and not 60 <= mapping.maximum_record_age_s <= 604_800:
        raise InvalidKafkaMapping(f"{mapping.name}: MaximumRecordAgeInSeconds must be -1 or 60..604800")


def policy_of(mapping: KafkaMappingDef) -> Policy:
    # with an on-failure destination (always, here), infinite retries are capped at 10, as on AWS
    retries = 10 if mapping.maximum_retry_attempts == -1 else mapping.maximum_retry_attempts
    return Policy(
        maximum_retry_attempts=retries,
        maximum_record_age_s=mapping.maximum_record_age_s,
        bisect_on_error=mapping.bisect_on_error,
        report_batch_item_failures=mapping.report_batch_item_failures,
    )


def item_identifier(item: Any) -> Any:
    """A Kafka partial-batch answer names a record as ``{"partition": "topic-p", "offset": n}``;
    ``delivery`` knows records by ``topic-p@offset``."""
    ident = item.get("itemIdentifier") if isinstance(item, dict) else None
    if isinstance(ident, dict) and "partition" in ident and "offset" in ident:
        topic, _, partition = str(ident["partition"]).rpartition("-")
        return {"itemIdentifier": kafka_record_id(topic, int(partition), int(ident["offset"]))}
    return item


class KafkaFailureDestination:
    """The local on-failure destination of a Kafka mapping: one JSON file per given-up batch, with
    Lambda's metadata (``KafkaBatchInfo``, per partition the first and last offsets) and, as Lambda
    sends to an S3 destination, the records themselves (``payload``), so nothing is lost."""

    def __init__(self, directory: Path, function_name: str, region: str, bootstrap: str) -> None:
        self.directory = directory
        self.function_name = function_name
        self.region = region
        self.bootstrap = bootstrap

    def record(self, batch: Sequence[StreamRecord], condition: str, attempts: int, error: str | None) -> dict[str, Any]:
        info: dict[str, dict[str, Any]] = {}
        for r in batch:
            tp = f"{r.event['topic']}-{r.event['partition']}"
            first = info.setdefault(
                tp, {"firstRecordOffset": str(r.event["offset"]), "firstRecordTimestamp": iso_ms(r.arrival_s)}
            )
            first.update(lastRecordOffset=str(r.event["offset"]), lastRecordTimestamp=iso_ms(r.arrival_s))
        return {
            **invocation_record(self.region, self.function_name, condition, attempts, error),
            "KafkaBatchInfo": {
                "batchSize": len(batch),
                "bootstrapServers": self.bootstrap,
                "payloadSize": sum(r.size_bytes for r in batch),
                "recordsInfo": info,
            },
            "payload": kafka_event(list(batch), self.bootstrap),
        }

    def __call__(self, batch: Sequence[StreamRecord], condition: str, attempts: int, error: str | None) -> None:
        doc = self.record(batch, condition, attempts, error)
        name = f"{batch[0].sequence_number.replace('@', '-')}-{doc['requestContext']['requestId'][:8]}.json"
        atomic_write_text(self.directory / name, json.dumps(doc, indent=2))
        log.error(
            "records given up",
            extra={"function": self.function_name, "condition": condition, "records": len(batch), "error": error},
        )


def consumed(m: Any) -> StreamRecord:
    """A kafka-python ``ConsumerRecord`` as the runtime's record."""
    return kafka_record(
        topic=m.topic, partition=m.partition, offset=m.offset, timestamp_ms=m.timestamp,
        timestamp_type=m.timestamp_type, key=m.key, value=m.value, headers=list(m.headers),
    )  # fmt: skip


class KafkaMappingRunner(threading.Thread):
    """One Kafka mapping: a consumer in its group, batches invoked in order, offsets committed after."""

    def __init__(
        self,
        mapping: KafkaMappingDef,
        settings: Settings,
        stop: threading.Event,
        function: Function | None = None,
        consumers: Callable[[], Any] | None = None,
        unassigned_limit_s: float = UNASSIGNED_LIMIT_S,
    ) -> None:
        """``consumers`` makes each session's consumer (kafka-python's ``KafkaConsumer`` on the
        mapping's group unless given: the unit tests give ``alleycat.testing.kafka.FakeKafkaConsumer``)."""
        validate(mapping)
        super().__init__(name=f"mapping:{mapping.name}:kafka", daemon=True)
        self.mapping = mapping
        self.settings = settings
        self.topic = settings.kafka_topic
        self.stop = stop
        self.function = function or Function(mapping, settings.region)
        self.policy = policy_of(mapping)
        self.destination = KafkaFailureDestination(
            settings.dead_letter_dir / f"esm-{mapping.name}", mapping.name, settings.region, settings.kafka_bootstrap
        )
        self.metrics = ShardMetrics(mapping.name, f"kafka:{self.topic}")
        self.metrics_file = MetricsFile(settings.home, self.metrics)
        self.consumers = consumers or self._consumer
        self.unassigned_limit_s = unassigned_limit_s
        self.commits = 0

    def _consumer(self) -> Any:
        from kafka import KafkaConsumer

        return KafkaConsumer(
            self.topic,
            bootstrap_servers=self.settings.kafka_bootstrap.split(","),
            group_id=self.mapping.consumer_group_id,
            group_instance_id=f"{self.mapping.consumer_group_id}-local-1",
            client_id=f"lambda-esm-{self.mapping.name}",
            enable_auto_commit=False,
            auto_offset_reset="latest" if self.mapping.starting_position == "LATEST" else "earliest",
            max_poll_records=self.mapping.batch_size,
            session_timeout_ms=SESSION_TIMEOUT_MS,
            heartbeat_interval_ms=SESSION_TIMEOUT_MS // 4,
        )

    def _connect(self) -> Any | None:
        while not self.stop.is_set():
            try:
                return self.consumers()
            except Exception as exc:  # KafkaTimeoutError while the broker starts or restarts
                log.warning("Kafka consumer cannot connect yet", extra={"error": f"{type(exc).__name__}: {exc}"})
                self.stop.wait(CONNECT_RETRY_S)
        return None

    def _invoke(self, batch: Sequence[StreamRecord]) -> Any:
        self.metrics.add(invoked=1)
        response = self.function(kafka_event(list(batch), self.settings.kafka_bootstrap))
        if isinstance(response, dict) and isinstance(response.get("batchItemFailures"), list):
            response = {**response, "batchItemFailures": [item_identifier(i) for i in response["batchItemFailures"]]}
        return response

    def _discard(self, batch: Sequence[StreamRecord], condition: str, attempts: int, error: str | None) -> None:
        self.destination(batch, condition, attempts, error)
        self.metrics.add(dead_lettered=len(batch))

    def _commit(self, consumer: Any, batch: Sequence[StreamRecord]) -> None:
        from kafka.structs import OffsetAndMetadata, TopicPartition

        after: dict[Any, Any] = {}
        for r in batch:
            tp = TopicPartition(r.event["topic"], r.event["partition"])
            after[tp] = OffsetAndMetadata(r.event["offset"] + 1, "", -1)
        try:
            consumer.commit(after)
        except Exception as exc:  # the broker is away, or the group moved on: the batch comes again
            log.warning("offset commit failed", extra={"error": f"{type(exc).__name__}: {exc}"})
            return
        self.commits += 1
        self.metrics.checkpoint = ",".join(f"{tp.topic}-{tp.partition}@{o.offset}" for tp, o in sorted(after.items()))
        self.metrics.checkpoint_at = time.time()

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("Kafka mapping failed", extra={"mapping": self.mapping.name})

    def _run(self) -> None:
        """Consumer sessions until stopped: a session that fails (the broker went away mid-poll)
        is closed without committing and a new one resumes from the committed offsets."""
        # report at once: until the first poll returns (joining the group can take a while) the
        # status file would still show the counters of the process this one replaces
        self.metrics_file.write(force=True)
        while not self.stop.is_set():
            consumer = self._connect()
            if consumer is None:
                return
            log.info("Kafka mapping started", extra={"mapping": self.mapping.name, "topic": self.topic})
            try:
                self._session(consumer)
            except Exception as exc:  # kafka.errors.KafkaConnectionError, WedgedConsumer and the like
                log.warning(
                    "Kafka consumer session failed: reconnecting",
                    extra={"mapping": self.mapping.name, "error": f"{type(exc).__name__}: {exc}"},
                )
                self.stop.wait(CONNECT_RETRY_S)
            finally:
                with contextlib.suppress(Exception):
                    consumer.close(autocommit=False)
                self.metrics_file.write(force=True)
        log.info("Kafka mapping stopped", extra={"mapping": self.mapping.name})

    def _session(self, consumer: Any) -> None:
        window_s = self.mapping.max_batching_window_ms / 1000
        buffer: list[StreamRecord] = []
        first_at = 0.0
        assigned_at = time.monotonic()
        while not self.stop.is_set():
            room = self.mapping.batch_size - len(buffer)
            polled = consumer.poll(timeout_ms=POLL_MS, max_records=room)
            assigned_at = self._check_assigned(consumer, assigned_at)
            for records in polled.values():
                for m in records:
                    if not buffer:
                        first_at = time.monotonic()
                    buffer.append(consumed(m))
            self.metrics.add(polled=sum(len(r) for r in polled.values()))
            due = bool(buffer) and (len(buffer) >= self.mapping.batch_size or time.monotonic() - first_at >= window_s)
            if due:
                self.metrics.iterator_age_ms = max(0, int((time.time() - buffer[-1].arrival_s) * 1000))
                for batch in chunks(buffer, self.mapping.batch_size):  # and at most ~6 MB an invoke
                    if not deliver(batch, self._invoke, self.policy, self._discard, self.stop, metrics=self.metrics):
                        return  # stopped while a retry was pending: not committed, delivered again later
                self._commit(consumer, buffer)
                buffer = []
            self.metrics_file.write()

    def _check_assigned(self, consumer: Any, assigned_at: float) -> float:
        """When the consumer last held a partition, or a topic without partitions (not created yet)
        last excused it; raises ``WedgedConsumer`` once that is ``unassigned_limit_s`` ago."""
        now = time.monotonic()
        if consumer.assignment():
            return now
        if now - assigned_at < self.unassigned_limit_s:
            return assigned_at
        if not consumer.partitions_for_topic(self.topic):
            return now
        raise WedgedConsumer(
            f"no partition of {self.topic} assigned for {now - assigned_at:.0f} s although it has some: "
            "a new consumer takes over from the committed offsets"
        )
