"""The Kafka writer behind the same ``Sink`` interface (topic = stream name, key = partition key).

* ``acks=all`` and the idempotent producer: a record counts as sent once every in-sync replica
  has it, and a retried batch is not written twice by the broker.
* Retries are bounded: ``retries`` re-sends of a failed batch (the caller derives them from the
  run's attempts, ``producers.factory``), ``retry_backoff_ms`` apart, and never longer than
  ``delivery_timeout_ms`` in all (a broker that stays away).
* Batching and compression: records wait up to ``linger_ms`` (the run's buffering interval, at
  least a few milliseconds) to fill batches of up to 256 KiB per partition, compressed with LZ4.
* The same race key as on Kinesis (``producers.sinks.partition_key``) is the record's key, so a
  race stays on one partition, in order.
* A record whose delivery finally fails is dead-lettered with its error and counted, like the
  Kinesis writer's; ``SinkStats`` and so the run's summary are the same.
* Amazon MSK (``ALLEYCAT_KAFKA_AUTH=iam``): TLS and IAM sign-in (``producers.msk_iam``).
"""

from __future__ import annotations

import logging
from typing import Any

from alleycat.errors import AlleycatError
from producers.sinks import DeadLetterFile, Record, SinkStats

log = logging.getLogger("alleycat.producer")

MIN_LINGER_MS = 5  # a few ms of batching cost little latency and multiply the throughput
BATCH_BYTES = 256 * 1024
RETRY_BACKOFF_MS = 200
DELIVERY_TIMEOUT_MS = 60_000
BOOTSTRAP_TIMEOUT_MS = 20_000


class KafkaUnreachable(AlleycatError):
    """No broker of the bootstrap list answered in time."""


def kafka_producer(bootstrap: str, buffer_ms: int, retries: int, iam_region: str | None = None) -> Any:
    """The producer; with ``iam_region`` it signs in to Amazon MSK with IAM (``producers.msk_iam``),
    else it speaks plaintext, as to the local broker."""
    from kafka import KafkaProducer  # imported here: only `--sink kafka` needs it
    from kafka.errors import KafkaTimeoutError

    sign_in: dict[str, object] = {}
    if iam_region is not None:
        from producers.msk_iam import sign_in_settings

        sign_in = sign_in_settings(iam_region)
    try:
        return _producer(KafkaProducer, bootstrap, buffer_ms, retries, **sign_in)
    except KafkaTimeoutError as exc:
        raise KafkaUnreachable(
            f"no Kafka broker answered at {bootstrap} ({exc}): start one with `alleycat up --transport kafka`, "
            "or set ALLEYCAT_KAFKA_BOOTSTRAP / --kafka-bootstrap"
        ) from None


def _producer(make: Any, bootstrap: str, buffer_ms: int, retries: int, **sign_in: object) -> Any:
    return make(
        bootstrap_servers=bootstrap.split(","),
        client_id="alleycat-simulator",
        acks="all",
        enable_idempotence=True,
        retries=retries,
        retry_backoff_ms=RETRY_BACKOFF_MS,
        delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
        # a broker restarting at start-up is waited for; a wrong address fails after this
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        linger_ms=max(buffer_ms, MIN_LINGER_MS),
        batch_size=BATCH_BYTES,
        compression_type="lz4",
        **sign_in,
    )


class KafkaSink:
    def __init__(self, topic: str, producer: Any, dead_letter: DeadLetterFile, retries: int) -> None:
        self.topic = topic
        self.producer = producer
        self.dead_letter = dead_letter
        self.attempts = retries + 1
        self.stats = SinkStats()

    def put(self, records: list[Record]) -> None:
        for record in records:
            self.stats.calls += 1
            try:
                future = self.producer.send(self.topic, value=record.data, key=record.partition_key.encode())
            except Exception as exc:  # refused before it was queued (too large, buffer full for too long)
                self._failed(record, exc)
                continue
            future.add_callback(self._delivered)
            future.add_errback(self._failed, record)

    def flush(self) -> None:
        self.producer.flush()

    def close(self) -> None:
        self.flush()
        self.producer.close()

    def _delivered(self, _metadata: Any) -> None:
        self.stats.sent += 1

    def _failed(self, record: Record, exc: BaseException) -> None:
        self.stats.failed += 1
        log.warning("record given up", extra={"topic": self.topic, "error_code": type(exc).__name__})
        self.dead_letter.write(record, type(exc).__name__, str(exc), self.attempts)
        self.stats.dead_lettered += 1
