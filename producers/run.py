"""Pace a simulation into a sink (and/or a file): the loop behind `alleycat simulate` and the demo."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from producers.faults import FaultCounts, FaultInjector, FaultRates
from producers.simulator import SimConfig, Simulator
from producers.sinks import PartitionStrategy, Record, Sink, SinkStats, partition_key

NO_FAULTS = FaultRates()


@dataclass(slots=True)
class RunSummary:
    seed: int
    race_ids: list[int]
    events: int = 0  # valid events simulated
    records: int = 0  # records emitted, faults included
    faults: FaultCounts = field(default_factory=FaultCounts)
    sink: SinkStats | None = None
    elapsed_s: float = 0.0
    interrupted: bool = False

    @property
    def rate(self) -> float:
        """Records delivered (or, without a sink, emitted) per second of wall time."""
        done = self.sink.sent if self.sink is not None else self.records
        return done / self.elapsed_s if self.elapsed_s else 0.0


def run_simulation(
    config: SimConfig,
    *,
    sink: Sink | None,
    out: BinaryIO | None = None,
    speed: float = 1.0,
    strategy: PartitionStrategy = "race",
    faults: FaultRates = NO_FAULTS,
    on_tick: Callable[[int], None] | None = None,
) -> RunSummary:
    """Run the simulation; ``speed`` N replays simulated time N times faster, 0 as fast as possible.
    Ctrl-C stops it cleanly: held and buffered records are still delivered."""
    simulator = Simulator(config)
    injector = FaultInjector(faults, random.Random(f"{config.seed}:faults"))
    summary = RunSummary(config.seed, [], faults=injector.counts, sink=sink.stats if sink else None)

    def emit(records: list[Record]) -> None:
        summary.records += len(records)
        if out is not None:
            out.write(b"".join(r.data + b"\n" for r in records))
        if sink is not None:
            sink.put(records)

    started = time.monotonic()
    try:
        for tick in simulator.ticks():
            if speed > 0:
                time.sleep(max(0.0, started + tick.index / speed - time.monotonic()))
            summary.events += len(tick.events)
            records = [Record(ev.to_json(), partition_key(ev, strategy)) for ev in tick.events]
            emit(injector.apply(tick.index, tick.events, records))
            if tick.events and tick.events[0].race_id not in summary.race_ids[-1:]:
                summary.race_ids.append(tick.events[0].race_id)
            if on_tick is not None:
                on_tick(tick.index)
    except KeyboardInterrupt:
        summary.interrupted = True
    emit(injector.release())
    if sink is not None:
        sink.flush()
    summary.elapsed_s = time.monotonic() - started
    return summary


def summary_text(summary: RunSummary) -> str:
    """A few lines for people: the seed and races, what was emitted, and what the sink did."""
    races = ", ".join(map(str, summary.race_ids[:5])) + (" ..." if len(summary.race_ids) > 5 else "")
    lines = [
        f"seed {summary.seed}; races {races or '-'}{' (interrupted)' if summary.interrupted else ''}",
        f"events {summary.events:,}; records {summary.records:,} (duplicates {summary.faults.duplicates:,}, "
        f"late {summary.faults.late:,}, malformed {summary.faults.malformed:,})",
    ]
    if summary.sink is not None:
        s = summary.sink
        lines.append(
            f"sent {s.sent:,}; throttled {s.throttled:,}; retried {s.retried:,}; failed {s.failed:,}; "
            f"dead-lettered {s.dead_lettered:,}; "
            f"{s.calls:,} calls; {summary.rate:,.0f} records/s over {summary.elapsed_s:.1f} s"
        )
    return "\n".join(lines)
