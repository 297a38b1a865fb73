"""``alleycat consume``: run the event source mappings (``infra.local.esm``) until interrupted."""

from __future__ import annotations

import argparse
import gc
import signal
import threading

from alleycat.resources import MAPPINGS
from alleycat.settings import Settings
from alleycat.support.heap import freeze_startup_heap
from infra.local.esm import runtime


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "consume",
        help="run the Lambda handlers on the stream sources (Kinesis, DynamoDB Streams) until interrupted",
        description="Polls every shard of each mapping in alleycat.resources.MAPPINGS and invokes its handler "
        "with Lambda's event shapes; checkpoints under <ALLEYCAT_HOME>/esm. SIGINT/SIGTERM finish the "
        "in-flight batch, checkpoint and exit.",
    )
    p.add_argument(
        "--mapping",
        action="append",
        choices=[m.name for m in MAPPINGS],
        default=[],
        help="run only this mapping (repeatable; default: all)",
    )
    p.set_defaults(func=consume)


# Young collections every 20,000 allocations instead of 700 (and the older generations' defaults
# scaled to match): see ``consume``.
COLLECTOR_THRESHOLDS = (20_000, 20, 10)


def consume(args: argparse.Namespace, settings: Settings) -> int:
    # This one process hosts three functions and every shard's poller (on AWS each function has a
    # process of its own and the pollers are Lambda's), and a read brings up to 10,000 records'
    # dicts at once: with the collector's defaults a backlog drain took 20-30% longer
    # (docs/design.md, "Real-time throughput"). What is loaded by now stays out of its reach
    # (freeze) and it runs less often.
    freeze_startup_heap()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runtime.run(settings, args.mapping, stop)
    return 0
