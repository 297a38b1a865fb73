"""The Kafka writer behind the same ``Sink`` interface (topic = stream name, key = partition key).

kafka-python batches (``linger_ms`` = the buffering interval) and retries by itself, ``retries``
times (the caller derives it from the run's attempts, ``producers.factory``); a record whose
delivery finally fails is dead-lettered and counted, like the Kinesis writer's.
"""

from __future__ import annotations

import logging
from typing import Any

from producers.sinks import DeadLetterFile, Record, SinkStats

log = logging.getLogger("alleycat.producer")


def kafka_producer(bootstrap: str, buffer_ms: int, retries: int) -> Any:
    from kafka import KafkaProducer  # imported here: only `--sink kafka` needs it

    return KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all", retries=retries, linger_ms=buffer_ms)


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
            future = self.producer.send(self.topic, value=record.data, key=record.partition_key.encode())
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
