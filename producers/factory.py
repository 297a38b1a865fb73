"""Build the writer a run asks for, Kinesis or Kafka, from plain options.

The one place that knows both writers. The caller hands in how to make the client (a boto3
Kinesis client, a ``KafkaProducer``) so that a run builds only the one it uses and tests pass
fakes (``alleycat.testing.kinesis``, ``alleycat.testing.kafka``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from producers.kafka import KafkaSink, kafka_producer
from producers.kinesis import KinesisSink, RetryPolicy
from producers.sinks import DeadLetterFile, Sink

SinkKind = Literal["kinesis", "kafka"]
SINK_KINDS: tuple[SinkKind, ...] = ("kinesis", "kafka")
DEFAULT_KAFKA_BOOTSTRAP = "127.0.0.1:9092"  # the local broker (alleycat up --transport kafka)

KinesisClientFactory = Callable[[], Any]
# (bootstrap, linger_ms, retries, IAM sign-in region or None) -> KafkaProducer
KafkaProducerFactory = Callable[[str, int, int, str | None], Any]


@dataclass(frozen=True, slots=True)
class SinkOptions:
    """What to write to and how. ``stream`` is the Kinesis stream or the Kafka topic;
    ``max_attempts`` None keeps ``RetryPolicy``'s default."""

    stream: str
    kind: SinkKind = "kinesis"
    buffer_ms: int = 0
    max_attempts: int | None = None
    kafka_bootstrap: str = DEFAULT_KAFKA_BOOTSTRAP
    kafka_iam_region: str | None = None  # sign in to Amazon MSK with IAM in this region

    def retry_policy(self) -> RetryPolicy:
        # from an instance: on a slots dataclass, ``RetryPolicy.max_attempts`` is a member descriptor
        defaults = RetryPolicy()
        if self.max_attempts is None:
            return defaults
        return dataclasses.replace(defaults, max_attempts=self.max_attempts)


def build_sink(
    options: SinkOptions,
    dead_letter: DeadLetterFile,
    *,
    kinesis_client: KinesisClientFactory,
    kafka: KafkaProducerFactory = kafka_producer,
) -> Sink:
    """The writer for ``options``; only the client of the chosen kind is made."""
    retry = options.retry_policy()
    if options.kind == "kafka":
        retries = retry.max_attempts - 1  # kafka-python counts retries, not attempts
        producer = kafka(options.kafka_bootstrap, options.buffer_ms, retries, options.kafka_iam_region)
        return KafkaSink(options.stream, producer, dead_letter, retries)
    return KinesisSink(options.stream, kinesis_client(), dead_letter, buffer_ms=options.buffer_ms, retry=retry)
