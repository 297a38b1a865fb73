"""Series part 5 on the local stack: the local Kinesis enforces a shard's write and read quotas.

1,000 racers of one class into a one-shard stream is the shard's whole write quota (1,000
records/s), so a replay faster than real time is throttled: the producer retries and loses nothing,
the consumer falls behind, ``alleycat status`` shows the lag while it drains, and the results equal
the reference computation.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alleycat.adapters import aws
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.cli import main
from alleycat.domain.events import parse_event
from alleycat.domain.scoring import score_races
from alleycat.settings import Settings
from infra.local import stack as local_stack
from infra.local.environment import stack_env
from infra.local.processes import free_port
from producers.kinesis import KinesisSink, RetryPolicy
from producers.run import run_simulation
from producers.simulator import SimConfig, Simulator
from producers.sinks import DeadLetterFile
from tests.integration.test_realtime_e2e import mismatches

pytestmark = pytest.mark.stack
REPO = Path(__file__).resolve().parents[2]
RACERS = 1000
# 60,000 records, six of the consumer's full GetRecords pages (10,000 each): a backlog one read
# takes whole is at the tip at once, and there would be no lag to see (30,000 showed it for one
# sample of the test's two a second)
SECONDS = 60


@pytest.fixture
def one_shard(stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    tag = uuid.uuid4().hex[:8]
    home = tmp_path / "home"
    settings = replace(stack, home=home, local_s3_root=home / "s3", stream=f"one-{tag}", shards=1)
    kinesis = aws.client("kinesis", settings.region)
    kinesis.create_stream(StreamName=settings.stream, ShardCount=1)
    local_stack.wait_stream_active(kinesis, settings.stream)
    try:
        yield settings
    finally:
        kinesis.delete_stream(StreamName=settings.stream)


def _status_text(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> str:
    """``alleycat status`` run in this process (a subprocess takes seconds to start: the lag is gone)."""
    with monkeypatch.context() as patch:
        for name, value in stack_env(settings).items():
            patch.setenv(name, value)
        capsys.readouterr()
        main(["status"])
        return capsys.readouterr().out


def _start_ms() -> int:
    """A race slot of this test's own, far from other tests' raceIds."""
    return 300_000 * (6_500_000 + uuid.uuid4().int % 500_000)


def test_one_shard_at_1000_racers_throttles_retries_lags_and_loses_nothing(
    one_shard: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = one_shard
    env = {**os.environ, **stack_env(settings), "ALLEYCAT_LIVE_URL": f"http://127.0.0.1:{free_port()}/internal/live"}
    config = SimConfig(start_ms=_start_ms(), seed=7, classes=(1,), racers=RACERS, race_seconds=SECONDS)
    kinesis = aws.client("kinesis")
    # sustained overload: the default 8 attempts can run out for an unlucky record (it is then
    # dead-lettered, not lost silently); a producer that must deliver everything retries longer
    sink = KinesisSink(
        settings.stream, kinesis, DeadLetterFile(settings.dead_letter_dir), retry=RetryPolicy(max_attempts=40)
    )
    # twice real time: 2,000 records/s offered to a shard that takes 1,000
    summary = run_simulation(config, sink=sink, speed=2.0)
    sink.close()
    n = RACERS * SECONDS
    produced = (
        f"producer: {n} records, sent {sink.stats.sent}, throttled {sink.stats.throttled}, "
        f"retried {sink.stats.retried}, failed {sink.stats.failed}, {summary.rate:,.0f} records/s "
        f"over {summary.elapsed_s:.1f} s"
    )
    assert sink.stats.throttled > 0 and sink.stats.retried > 0
    assert sink.stats.sent == n and sink.stats.failed == 0 and sink.stats.dead_lettered == 0

    # the consumer starts behind the whole race: the lag it reports climbs to the backlog, then drains
    log = settings.home / "consumer.log"
    settings.home.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "alleycat.cli", "--log-level", "INFO", "consume"],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    shown: list[str] = []
    behind: list[int] = []
    try:
        table = DynamoRaceTable.from_settings(settings)
        races = score_races([parse_event(ev.to_json()) for tick in Simulator(config).ticks() for ev in tick.events])
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            reports = [m for m in local_stack.lag(settings)["mappings"] if m["mapping"] == "Aggregator"]
            if reports:
                behind.append(reports[0]["behindMs"])
                if reports[0]["polled"] and not shown and mismatches(table, races):
                    shown.append(_status_text(settings, monkeypatch, capsys))
            if not mismatches(table, races) and behind and behind[-1] == 0:
                print(f"drained and equal after {90 - (deadline - time.monotonic()):.1f} s")
                break
            time.sleep(0.5)
        assert mismatches(table, races) == [], log.read_text()[-3000:]
    finally:
        proc.terminate()
        proc.wait(30)
    print(f"\n{produced}")  # after the in-process status runs: capsys takes what is printed before
    print(f"consumer behindMs samples: {behind[:12]} ... {behind[-3:]}")
    assert max(behind) > 1000 and behind[-1] == 0  # it was behind by seconds, and caught up
    assert shown, "status was never sampled while behind"
    line = next(line for line in shown[0].splitlines() if "Aggregator" in line and "behind=" in line)
    print(f"alleycat status while draining: {line.strip()}")
    lag = re.search(r"behind=([\d.]+)s age=([\d.]+)s", line)
    assert lag is not None and max(float(lag[1]), float(lag[2])) >= 2.0
    report = subprocess.run(
        [sys.executable, "-m", "alleycat.cli", "status", "--json"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    final = next(m for m in json.loads(report.stdout)["lag"]["mappings"] if m["mapping"] == "Aggregator")
    assert final["polled"] == n and final["deadLettered"] == 0 and final["checkpoint"]
