"""The Kafka producer's throughput into a real local broker, next to kafka-python's own ceiling.

Starts a private Apache Kafka broker (``infra.local.kafka``: temporary home, free ports, a topic of
4 partitions). The ceiling sends the same pre-encoded simulated events with a bare kafka-python
``KafkaProducer`` configured as ours (``producers.kafka.kafka_producer``: acks=all, idempotent,
LZ4, 256 KiB batches), no callbacks; ours runs the simulator as fast as it can (``--speed 0``)
through ``KafkaSink`` (per-record delivery callbacks, counters, the dead letter), as
``alleycat simulate --sink kafka`` does. Both wait for every acknowledgement (``flush``).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from alleycat.settings import Settings
from infra.local import kafka
from infra.local.processes import ProcessTable, free_port
from producers.kafka import KafkaSink, kafka_producer
from producers.run import run_simulation
from producers.simulator import SimConfig, Simulator
from producers.sinks import DeadLetterFile, Record, partition_key

CONFIG = SimConfig(start_ms=1_704_067_200_000, seed=1, classes=(1, 2, 3, 4, 5, 6), racers=200, race_seconds=60)
RETRIES = 7  # the default run's: 8 attempts


def _broker(home: Path) -> Settings:
    settings = Settings(
        home=home, transport="kafka", kafka_port=free_port(), kafka_controller_port=free_port(), shards=4
    )
    kafka.prepare(settings)
    ProcessTable(home).start(kafka.kafka_spec(settings))
    kafka.create_topic(settings)
    return settings


def ceiling(settings: Settings, records: list[Record]) -> float:
    """Records/s of bare ``send`` calls of pre-encoded records, until all are acknowledged."""
    producer = kafka_producer(settings.kafka_bootstrap, 0, RETRIES)
    try:
        started = time.monotonic()
        for r in records:
            producer.send(settings.kafka_topic, value=r.data, key=r.partition_key.encode())
        producer.flush()
        return len(records) / (time.monotonic() - started)
    finally:
        producer.close()


def ours(settings: Settings) -> tuple[float, int]:
    sink = KafkaSink(
        settings.kafka_topic,
        kafka_producer(settings.kafka_bootstrap, 0, RETRIES),
        DeadLetterFile(settings.dead_letter_dir),
        RETRIES,
    )
    summary = run_simulation(CONFIG, sink=sink, speed=0)
    sink.close()
    return summary.rate, sink.stats.sent


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="alleycat-bench-kafka-") as home:
        settings = _broker(Path(home))
        try:
            events = [ev for tick in Simulator(CONFIG).ticks() for ev in tick.events]
            records = [Record(ev.to_json(), partition_key(ev, "race")) for ev in events]
            size = sum(len(r.data) for r in records) / len(records)
            print(f"   {len(records):,} events a run, {size:.0f} bytes each on average; 4 partitions", flush=True)
            raw = ceiling(settings, records)
            print(f"   kafka-python ceiling:   {raw:9,.0f} records/s  (pre-encoded, bare send, acks=all)", flush=True)
            rate, sent = ours(settings)
            print(
                f"   producer (KafkaSink):   {rate:9,.0f} records/s  ({sent:,} acknowledged; "
                f"{rate / raw:.0%} of the ceiling)",
                flush=True,
            )
        finally:
            ProcessTable(settings.home).stop("kafka")
