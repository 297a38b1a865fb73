"""`make run`: the pipeline on the local stack, as a sequence of named steps.

Each step is a function taking what the previous ones produced, so later work appends steps
(standings, the lake, SQL) to ``main``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from alleycat import aws
from alleycat.domain.events import CLASS_IDS, RACE_MS, InvalidEvent, parse_event
from alleycat.settings import Settings
from infra.local import stack
from producers.cli import summary_text
from producers.kinesis import KinesisSink
from producers.readback import StreamRecord, latest_iterators, read_stream
from producers.run import RunSummary, run_simulation
from producers.simulator import SimConfig
from producers.sinks import DeadLetterFile

RACERS_PER_CLASS = 100
SPEED = 5.0  # a 300 s race in a minute

console = Console()


@dataclass(frozen=True)
class Simulated:
    summary: RunSummary
    start: dict[str, str]  # per shard, an iterator taken just before sending


def start_stack() -> Settings:
    settings = Settings.from_env()
    console.rule("1. start the local stack")
    stack.up(settings)
    stack.apply_env(settings)
    console.print(f"kinesis {settings.kinesis_url}, dynamodb {settings.dynamodb_url}, home {settings.home}")
    return settings


def simulate_races(settings: Settings) -> Simulated:
    console.rule(f"2. race: {len(CLASS_IDS)} classes x {RACERS_PER_CLASS} racers, {SPEED:g}x speed")
    kinesis = aws.client("kinesis")
    start = latest_iterators(kinesis, settings.stream)
    now_ms = int(time.time() * 1000)
    config = SimConfig(
        start_ms=now_ms - now_ms % RACE_MS,
        seed=random.SystemRandom().randrange(2**32),
        classes=tuple(CLASS_IDS),
        racers=RACERS_PER_CLASS,
    )
    sink = KinesisSink(settings.stream, kinesis, DeadLetterFile(settings.dead_letter_dir))
    with console.status("racing ...") as status:
        summary = run_simulation(
            config,
            sink=sink,
            speed=SPEED,
            on_tick=lambda i: status.update(f"racing: second {i + 1}/{config.race_seconds}, sent {sink.stats.sent:,}"),
        )
    console.print(summary_text(summary))
    return Simulated(summary, start)


def show_stream(settings: Settings, simulated: Simulated) -> dict[str, list[StreamRecord]]:
    console.rule("3. what arrived on the stream (GetRecords, all shards)")
    records = read_stream(aws.client("kinesis"), settings.stream, simulated.start)
    by_class: Counter[int] = Counter()
    invalid = 0
    for shard in records.values():
        for record in shard:
            try:
                by_class[parse_event(record.data).class_id] += 1
            except InvalidEvent:
                invalid += 1
    shards = Table("shard", "records", "partition keys")
    for shard_id, shard in records.items():
        shards.add_row(shard_id, f"{len(shard):,}", ", ".join(sorted({r.partition_key for r in shard})) or "-")
    classes = Table("class", "records")
    for class_id in sorted(by_class):
        classes.add_row(str(class_id), f"{by_class[class_id]:,}")
    console.print(shards, classes)
    total = sum(len(shard) for shard in records.values())
    console.print(f"{total:,} records read back ({invalid} invalid); {simulated.summary.records:,} sent")
    return records


def main() -> int:
    settings = start_stack()
    simulated = simulate_races(settings)
    show_stream(settings, simulated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
