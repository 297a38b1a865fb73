"""A simulation with a progress bar: ``run_simulation`` drawing simulated seconds and records sent.

The bar goes to the given console (``alleycat simulate`` uses stderr, so stdout carries only the
summary) and disappears when the run ends.
"""

from __future__ import annotations

from typing import BinaryIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from producers.faults import FaultRates
from producers.run import NO_FAULTS, RunSummary, run_simulation
from producers.simulator import SimConfig
from producers.sinks import PartitionStrategy, Sink


def run_with_progress(
    config: SimConfig,
    *,
    sink: Sink | None,
    console: Console,
    out: BinaryIO | None = None,
    speed: float = 1.0,
    strategy: PartitionStrategy = "race",
    faults: FaultRates = NO_FAULTS,
) -> RunSummary:
    """``run_simulation`` with the same arguments, showing its progress on ``console``."""
    with Progress(
        TextColumn("[bold]simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("s  {task.fields[sent]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("simulate", total=config.ticks, sent="")

        def on_tick(index: int) -> None:
            sent = f"sent {sink.stats.sent:,}" if sink is not None else ""
            progress.update(task, completed=index + 1, sent=sent)

        return run_simulation(
            config, sink=sink, out=out, speed=speed, strategy=strategy, faults=faults, on_tick=on_tick
        )
