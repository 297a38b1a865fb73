"""Producer throughput into the local stream, next to the emulator's own PutRecords ceiling.

Starts a private stack (temporary home, free ports). The ceiling sends pre-encoded 500-record
batches of the same simulated events from 2 threads; the producer runs the simulator as fast as
it can (``--speed 0``) through ``KinesisSink``, unbuffered and with a 1 s buffer.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path

from alleycat.adapters import aws
from alleycat.settings import Settings
from infra.local import stack
from producers.kinesis import KinesisSink, batches
from producers.run import run_simulation
from producers.simulator import SimConfig, Simulator
from producers.sinks import DeadLetterFile, Record, partition_key

CONFIG = SimConfig(start_ms=1_704_067_200_000, seed=1, classes=(1, 2, 3, 4, 5, 6), racers=200, race_seconds=60)
CEILING_SECONDS = 10.0
CEILING_THREADS = 2


def _private_stack(home: Path) -> Settings:
    settings = stack.private_settings(home, ALLEYCAT_KINESIS_LIMITS="off")  # the emulator's own ceiling
    stack.up(settings)
    stack.apply_env(settings)
    aws.forget_clients()
    return settings


def ceiling(stream: str, records: list[Record]) -> float:
    """Records/s of raw PutRecords calls with pre-encoded full batches from several threads."""
    entries = [[{"Data": r.data, "PartitionKey": r.partition_key} for r in b] for b in batches(records)]
    kinesis = aws.client("kinesis")
    sent = [0] * CEILING_THREADS
    deadline = time.monotonic() + CEILING_SECONDS

    def worker(n: int) -> None:
        i = n
        while time.monotonic() < deadline:
            response = kinesis.put_records(StreamName=stream, Records=entries[i % len(entries)])
            sent[n] += len(entries[i % len(entries)]) - response["FailedRecordCount"]
            i += CEILING_THREADS

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CEILING_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(sent) / (time.monotonic() - started)


def producer(settings: Settings, buffer_ms: int) -> tuple[float, int]:
    sink = KinesisSink(
        settings.stream, aws.client("kinesis"), DeadLetterFile(settings.dead_letter_dir), buffer_ms=buffer_ms
    )
    summary = run_simulation(CONFIG, sink=sink, speed=0)
    sink.close()
    return summary.rate, sink.stats.calls


def run() -> None:
    with tempfile.TemporaryDirectory(prefix="alleycat-bench-") as home:
        settings = _private_stack(Path(home))
        try:
            events = [ev for tick in Simulator(CONFIG).ticks() for ev in tick.events]
            records = [Record(ev.to_json(), partition_key(ev, "race")) for ev in events]
            size = sum(len(r.data) for r in records) / len(records)
            print(f"   {len(records):,} events a run, {size:.0f} bytes each on average", flush=True)
            raw = ceiling(settings.stream, records)
            how = f"pre-encoded 500-record batches, {CEILING_THREADS} threads"
            print(f"   emulator ceiling:       {raw:9,.0f} records/s  ({how})", flush=True)
            for buffer_ms in (0, 1000):
                rate, calls = producer(settings, buffer_ms)
                print(
                    f"   producer buffer {buffer_ms:>4} ms: {rate:9,.0f} records/s  ({calls} calls; "
                    f"{rate / raw:.0%} of the ceiling)",
                    flush=True,
                )
        finally:
            stack.down(settings)
            aws.forget_clients()
