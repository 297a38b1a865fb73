"""The Kafka producer's throughput into a real local broker, next to kafka-python's own ceiling.

Starts a private Apache Kafka broker (``infra.local.kafka``: temporary home, free ports, a topic of
4 partitions). The ceiling sends the same pre-encoded simulated events with a bare kafka-python
``KafkaProducer`` configured as ours (``producers.kafka.kafka_producer``: acks=all, idempotent,
LZ4, 256 KiB batches), no callbacks; ours runs the simulator as fast as it can (``--speed 0``)
through ``KafkaSink`` (per-record delivery callbacks, counters, the dead letter), as
``alleycat simulate --sink kafka`` does. Both wait for every acknowledgement (``flush``).

Then end to end on one private stack (Kinesis, DynamoDB Local and the broker; no lake), the Kinesis
transport and the Kafka transport in turn, with ``bench.realtime``'s measures: the simulator at full
speed into the running consumer until every LIVE score equals the reference (events/s, zero loss),
and standings freshness (sent -> counted in LIVE) of a race replayed in real time.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from alleycat.adapters import aws
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.settings import Settings
from bench.realtime import _converge, _reference, _simulate, freshness
from infra.local import kafka, stack, workers
from infra.local.environment import stack_env
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


def end_to_end(home: Path) -> None:
    """Sustained events/s and freshness on Kinesis, then on Kafka, on the same servers."""
    settings = stack.private_settings(home, ALLEYCAT_KINESIS_LIMITS="off")  # the emulator's own ceiling
    on_kafka = settings.replace(transport="kafka")
    processes = ProcessTable(home)
    try:
        kafka.prepare(on_kafka)
        for sub in ("kinesis", "dynamodb"):
            (home / sub).mkdir(parents=True, exist_ok=True)
        for spec in stack.servers(on_kafka):
            if spec.name != "trino":  # no SQL here
                processes.start(spec)
        stack.create_resources(on_kafka)
        stack.apply_env(settings)
        aws.forget_clients()
        table = DynamoRaceTable.from_settings(settings)
        window = {"kinesis": "5 s tumbling window", "kafka": "500 ms batching window"}
        for year, s in ((2031, settings), (2032, on_kafka)):
            os.environ.update(stack_env(s))  # the simulator and the consumer take the transport from it
            processes.start(workers.consumer_spec(s))
            out = home / f"max-{s.transport}.jsonl"
            started = time.monotonic()
            _simulate(out, f"{year}-02-01T00:00:00Z", racers=200, seconds=60, speed=0)
            sent_s = time.monotonic() - started
            events = sum(1 for _ in out.open("rb"))
            done_s = _converge(table, _reference(out), started)
            lags, _ = freshness(table, home / f"fresh-{s.transport}.jsonl", f"{year}-03-01T00:00:00Z")
            p50, p99 = statistics.median(lags), lags[max(0, int(len(lags) * 0.99) - 1)]
            processes.stop("consumer")
            print(
                f"   {s.transport:<8} end to end: {events:,} records sent in {sent_s:.1f} s, all counted in LIVE "
                f"after {done_s:.1f} s: {events / done_s:,.0f} events/s (zero loss); freshness p50 {p50:.2f} s, "
                f"p99 {p99:.2f} s ({window[s.transport]})",
                flush=True,
            )
    finally:
        stack.down(on_kafka)
        aws.forget_clients()


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
    with tempfile.TemporaryDirectory(prefix="alleycat-bench-kafka-e2e-") as home:
        end_to_end(Path(home))
