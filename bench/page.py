"""The race page at 1,000 riders, one live update a second, in a real browser (Debian chromium):
the page's own main-thread time per update (``performance.now`` around the SSE handler, layout
included) and the bytes of each update, against a yardstick measured in the same run: the time of
``JSON.parse`` of the same message in the same page (the least any page must spend on it).

The times are wall-clock on the page's main thread: on a shared machine they include the time the
renderer waits for a core (say the load average beside them).

Against a private stack (its own home, free ports) and the real API server; the race is driven as
the pipeline drives one: each second its LIVE item is written and the message of that change published
to the API's ``/internal/live`` (``LiveRaceDriver``, also used by tests/browser)."""

from __future__ import annotations

import copy
import os
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alleycat.adapters import aws
from alleycat.adapters.live_channel import HttpPublisher
from alleycat.adapters.race_items import LiveRace
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain.scoring import RaceScores
from alleycat.domain.windows import iso_utc
from alleycat.settings import Settings
from alleycat.testing.browser import chromium, update_figures
from consumers.publisher import live_message
from infra.local import stack as local_stack
from infra.local.environment import with_stack_secrets
from infra.local.processes import ProcessTable
from infra.local.workers import api_spec

RACERS = 1000
UPDATES = 30
FRAME_MS = 16.0  # the budget of one frame at 60 Hz: p95 must stay within it
RACE_ID, CLASS_ID = 6_000_001, 2


@dataclass
class LiveRaceDriver:
    """A race as the real-time path makes it: ``step`` adds a second of output per rider, writes the
    LIVE item (``RaceTable.put_live``, versioned) and publishes the message of that change
    (``consumers.publisher.live_message``: the changes from the previous version) to the API."""

    settings: Settings
    race: RaceScores
    names: dict[int, str]
    seed: int = 7
    second: int = 0
    version: int = 0
    previous: LiveRace | None = None  # the LIVE item as last written: the base of the next message
    rng: random.Random = field(init=False)
    base: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.base = {racer: self.rng.randint(150_000, 350_000) for racer in self.names}
        self.table = DynamoRaceTable.from_settings(self.settings)
        # the token the API was started with (infra.local.workers.api_spec): the settings' own if they
        # carry one (ALLEYCAT_LIVE_TOKEN), else the stack home's
        token = with_stack_secrets(self.settings).live_token
        self.publisher = HttpPublisher(f"{self.settings.api_url}/internal/live", token)

    def step(self, seconds: int = 1, publish: bool = True) -> dict[str, Any]:
        """``publish=False``: the LIVE item changes but its message is lost (a gap for the page)."""
        for _ in range(seconds):
            self.second += 1
            for racer, name in self.names.items():
                milli = max(0, self.base[racer] + self.rng.randint(-80_000, 80_000))
                self.race.racer(racer, name, self.race.class_id).add(self.second, milli, final=self.second >= 300)
        self.version += 1
        now_ms = int(time.time() * 1000)
        live = LiveRace(self.race, self.version, iso_utc(now_ms / 1000), now_ms)
        if not self.table.put_live(live, self.version - 1 if self.version > 1 else None):
            raise RuntimeError(f"LIVE version {self.version} of race {self.race.race_id} conflicted")
        message = live_message(live, self.previous, self.settings.live_top)
        self.previous = copy.deepcopy(live)
        if publish and not self.publisher.publish(self.race.key, message):
            raise RuntimeError(f"the API did not take the message of LIVE version {self.version} (see the warning)")
        return message


def drive(driver: LiveRaceDriver, updates: int, interval_s: float = 1.0) -> None:
    """``updates`` steps, one every ``interval_s``."""
    due = time.monotonic()
    for _ in range(updates):
        driver.step()
        due += interval_s
        time.sleep(max(0.0, due - time.monotonic()))


def figures(recorded: list[dict[str, Any]]) -> dict[str, float]:
    """The figures of the change messages the page applied (the snapshot it started from aside)."""
    snapshots = [u["bytes"] for u in recorded if u["kind"] == "snapshot"]
    updates = [u for u in recorded if u["kind"] == "changes"]
    ms = sorted(u["ms"] for u in updates)
    parse = sorted(u["parseMs"] for u in updates)
    p95 = statistics.quantiles(ms, n=20, method="inclusive")[-1] if len(ms) > 1 else ms[0]
    return {
        "updates": len(ms),
        "p50_ms": statistics.median(ms),
        "p95_ms": p95,
        "max_ms": ms[-1],
        "parse_p50_ms": statistics.median(parse),
        "layout_p50_ms": statistics.median(u["layoutMs"] for u in updates),
        "bytes_per_update": statistics.mean(u["bytes"] for u in updates),
        "snapshot_bytes": max(snapshots, default=0),
        "rows": max(u["rows"] for u in updates),
    }


def measure(settings: Settings, racers: int = RACERS, updates: int = UPDATES) -> dict[str, float]:
    """Open the page on a new race of ``racers`` riders (the API already serving at
    ``settings.api_url``) and drive ``updates`` updates at one a second."""
    names = {10_000 + i: f"rider {i:04d}" for i in range(racers)}
    race_id = RACE_ID + int(time.time()) % 1_000_000  # a new race each run, even on a kept table
    race = LiveRaceDriver(settings, RaceScores(race_id, CLASS_ID), names)
    race.step(publish=False)  # the LIVE item exists when the page asks for its snapshot
    browser = chromium()
    try:
        browser.get(f"{settings.api_url}/?class={CLASS_ID}&race={race.race.race_id}")
        deadline = time.monotonic() + 20
        while browser.execute_script("return document.getElementById('connection').dataset.state") != "live":
            if time.monotonic() > deadline:
                raise TimeoutError("the page did not connect to the live stream within 20 s")
            time.sleep(0.1)
        drive(race, updates)
        time.sleep(1.0)
        return figures(update_figures(browser))
    finally:
        browser.quit()


def run() -> None:
    home = Path(tempfile.mkdtemp(prefix="alleycat-bench-page-"))
    settings = local_stack.private_settings(
        home, ALLEYCAT_STREAM="bench-telemetry", ALLEYCAT_TABLE="bench-alleycat", ALLEYCAT_SHARDS="1"
    )
    processes = ProcessTable(home)
    try:
        local_stack.up(settings)
        local_stack.apply_env(settings)
        aws.forget_clients()
        processes.start(api_spec(settings))
        got = measure(settings)
    finally:
        processes.stop("api")
        local_stack.down(settings)
        aws.forget_clients()
        shutil.rmtree(home, ignore_errors=True)
    load = os.getloadavg()[0]
    print(
        f"   race page, {got['rows']:.0f}-rider race, {got['updates']:.0f} live updates at 1/s "
        f"(headless chromium; load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"   main thread per update: p50 {got['p50_ms']:.2f} ms, p95 {got['p95_ms']:.2f} ms, "
        f"max {got['max_ms']:.2f} ms, of which style and layout p50 {got['layout_p50_ms']:.2f} ms "
        f"(goal: p95 <= {FRAME_MS:.0f} ms; p95 / budget {got['p95_ms'] / FRAME_MS:.2f})"
    )
    print(
        f"   yardstick, JSON.parse of the same message: p50 {got['parse_p50_ms']:.2f} ms; "
        f"update p50 / parse p50 {got['p50_ms'] / max(got['parse_p50_ms'], 1e-3):.1f}x"
    )
    per_rider = got["bytes_per_update"] / got["rows"]
    print(
        f"   bytes per update: {got['bytes_per_update'] / 1000:.1f} kB ({per_rider:.0f} B a rider; "
        f"changes only: the snapshot the page starts from was {got['snapshot_bytes'] / 1000:.1f} kB)"
    )
