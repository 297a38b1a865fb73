"""``alleycat simulate``: race events into the stream (Kinesis or Kafka) and/or a JSON-lines file.

This module reads the options and reports; the work is the producers' (``producers.factory``
builds the writer, ``producers.progress`` runs the simulation, ``producers.run`` sums it up).
"""

from __future__ import annotations

import argparse
import contextlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from rich.console import Console

from alleycat.adapters import aws
from alleycat.domain.events import CLASS_IDS, RACE_MS, RACE_SECONDS
from alleycat.errors import UsageError
from alleycat.settings import Settings
from producers.factory import (
    SINK_KINDS,
    KafkaProducerFactory,
    KinesisClientFactory,
    SinkOptions,
    build_sink,
)
from producers.faults import FaultRates
from producers.kafka import kafka_producer
from producers.kinesis import RetryPolicy
from producers.progress import run_with_progress
from producers.run import summary_text
from producers.simulator import SimConfig
from producers.sinks import PARTITION_STRATEGIES, DeadLetterFile

SEEDED_START = datetime(2024, 1, 1, tzinfo=UTC)  # with --seed and no --start: identical output


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="simulate races: one event per racer per second, into the stream and/or a file",
        description="Races of the chosen classes start together on 300 s boundaries; raceId = start_ms // 300000.",
    )
    p.add_argument("--classes", type=_classes, default=(1,), help="comma-separated class ids 1-6 (default: 1)")
    p.add_argument("--racers", type=_positive, default=10, help="racers per class (default: 10)")
    p.add_argument("--race-seconds", type=_positive, default=RACE_SECONDS, help="race length (default: 300)")
    p.add_argument("--races", type=int, default=1, help="races per class; 0 = continuous (default: 1)")
    p.add_argument("--duration", type=_positive, default=None, help="stop after this many simulated seconds")
    p.add_argument("--seed", type=int, default=None, help="make the run reproducible byte for byte")
    p.add_argument(
        "--start",
        default=None,
        help="ISO 8601 instant or 'now', floored to a race boundary (default: now; with --seed, 2024-01-01T00:00Z)",
    )
    p.add_argument("--speed", type=float, default=1.0, help="replay N times faster; 0 = as fast as possible")
    p.add_argument("--out", type=Path, default=None, help="also write the records, one per line, to this file")
    p.add_argument("--no-send", action="store_true", help="do not send (use with --out)")
    p.add_argument("--duplicate-rate", type=_rate, default=0.0, help="share of records sent twice (same bytes)")
    p.add_argument("--late-rate", type=_rate, default=0.0, help="share of records held back 2-180 s")
    p.add_argument("--malformed-rate", type=_rate, default=0.0, help="share of records followed by a broken one")
    p.add_argument("--partition-key", choices=PARTITION_STRATEGIES, default="race", help="default: race")
    p.add_argument("--buffer-ms", type=int, default=0, help="client-side buffering interval (default: 0)")
    p.add_argument(
        "--max-attempts",
        type=_positive,
        default=None,
        help=f"attempts per record, first send included (default: {RetryPolicy().max_attempts})",
    )
    p.add_argument(
        "--sink", choices=SINK_KINDS, default=None, help="where to send (default: $ALLEYCAT_TRANSPORT, else kinesis)"
    )
    p.add_argument(
        "--kafka-bootstrap",
        default=None,
        help="for --sink kafka: host:port,... (default: $ALLEYCAT_KAFKA_BOOTSTRAP, else the local broker)",
    )
    p.add_argument(
        "--stream",
        default=None,
        help="stream (or topic) name (default: $ALLEYCAT_STREAM, for Kafka $ALLEYCAT_KAFKA_TOPIC)",
    )
    p.set_defaults(func=simulate)


def kinesis_client() -> Any:
    return aws.client("kinesis")


def simulate(
    args: argparse.Namespace,
    settings: Settings,
    *,
    kinesis: KinesisClientFactory = kinesis_client,
    kafka: KafkaProducerFactory = kafka_producer,
) -> int:
    """Run ``alleycat simulate``; 1 when a record could not be delivered. ``kinesis`` and ``kafka``
    make the clients (tests pass fakes)."""
    if args.no_send and args.out is None:
        raise UsageError("--no-send needs --out")
    if args.races < 0:
        raise UsageError("--races must be 0 (continuous) or more")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    config = SimConfig(
        start_ms=_start_ms(args.start, seeded=args.seed is not None),
        seed=seed,
        classes=args.classes,
        racers=args.racers,
        race_seconds=args.race_seconds,
        races=args.races or None,
        duration_s=args.duration,
    )
    sink = None
    if not args.no_send:
        kind = args.sink or settings.transport
        options = SinkOptions(
            stream=args.stream or (settings.kafka_topic if kind == "kafka" else settings.stream),
            kind=kind,
            buffer_ms=args.buffer_ms,
            max_attempts=args.max_attempts,
            kafka_bootstrap=args.kafka_bootstrap or settings.kafka_bootstrap,
            kafka_iam_region=settings.region if settings.kafka_auth == "iam" else None,
        )
        sink = build_sink(options, DeadLetterFile(settings.dead_letter_dir), kinesis_client=kinesis, kafka=kafka)
    with _open(args.out) as out:
        summary = run_with_progress(
            config,
            sink=sink,
            console=Console(stderr=True),
            out=out,
            speed=args.speed,
            strategy=args.partition_key,
            faults=FaultRates(args.duplicate_rate, args.late_rate, args.malformed_rate),
        )
        if sink is not None:
            sink.close()
    print(summary_text(summary))
    return 1 if summary.sink is not None and summary.sink.failed else 0


def _start_ms(raw: str | None, seeded: bool) -> int:
    if raw is None and seeded:
        instant = SEEDED_START
    elif raw is None or raw == "now":
        instant = datetime.now(UTC)
    else:
        try:
            instant = datetime.fromisoformat(raw)
        except ValueError:
            raise UsageError(f"--start {raw!r} is not ISO 8601 (e.g. 2024-05-12T13:00:00Z) or 'now'") from None
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=UTC)
    ms = int(instant.timestamp() * 1000)
    return ms - ms % RACE_MS


@contextlib.contextmanager
def _open(path: Path | None) -> Iterator[BinaryIO | None]:
    if path is None:
        yield None
        return
    with path.open("wb") as out:
        yield out


def _classes(raw: str) -> tuple[int, ...]:
    try:
        ids = tuple(sorted({int(part) for part in raw.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a comma-separated list of class ids") from None
    if not ids or not set(ids) <= set(CLASS_IDS):
        raise argparse.ArgumentTypeError(f"class ids are {CLASS_IDS.start}-{CLASS_IDS.stop - 1}")
    return ids


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} must be 1 or more")
    return value


def _rate(raw: str) -> float:
    value = float(raw)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{raw} is not a rate between 0 and 1")
    return value
