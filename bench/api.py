"""API latency: the race leaderboard (first page, 100 entries) of a 1,000-racer race (one class of a
slot: ``/classes/{classId}/races/{raceId}/leaderboard``) at a fixed
1,000 requests/s for 10 s, against a private stack (its own home, free ports) and the real server.

Open-loop load: request i is due at ``t0 + i / rate`` whether or not earlier ones have answered,
and its latency counts from that due time (so a stalled server cannot hide its queue). Prints
p50/p99/max latency, the service time (from send), the achieved rate and any errors.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from alleycat.adapters import aws
from alleycat.adapters.race_items import result_item
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain.events import MAX_RACER_ID
from alleycat.domain.scoring import RacerScore
from alleycat.support.clock import now_ms
from alleycat.support.heap import freeze_startup_heap
from infra.local import stack as local_stack
from infra.local.processes import ProcessTable
from infra.local.workers import api_spec

RATE = 1000  # requests per second (the goal: p99 <= 50 ms, zero errors)
CONNECTIONS = 100
SECONDS = 10
RACERS = 1000
RACE_ID = 7_000_001
CLASS_ID = 2


def _seed(table: DynamoRaceTable) -> None:
    """A finished 1,000-racer race, written with FinalResults' own item function."""
    rng = random.Random(1)
    scores = []
    for racer_id in rng.sample(range(MAX_RACER_ID + 1), RACERS):
        score = RacerScore(racer_id, f"racer {racer_id}", CLASS_ID, finished=True)
        for second in range(1, 301):
            score.add(second, rng.randint(50_000, 400_000))
        scores.append(score)
    table.write_results([result_item(RACE_ID, s, now_ms()) for s in scores])


async def _load(url: str) -> tuple[list[float], list[float], list[str], float]:
    path = f"{url}/classes/{CLASS_ID}/races/{RACE_ID}/leaderboard"  # a race is (raceId, classId)
    latencies: list[float] = []
    service: list[float] = []
    errors: list[str] = []
    # aiohttp, not httpx, drives the load: httpx's pool itself stalls (PoolTimeout) long before
    # 1,000 requests/s on two cores, and the figure would be the client's
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS), timeout=timeout) as client:

        async def warm() -> None:
            async with client.get(path) as answer:
                answer.raise_for_status()
                await answer.read()

        for _ in range(3):  # warm-up: every connection of the pool open, the caches filled
            await asyncio.gather(*(warm() for _ in range(CONNECTIONS)))

        async def one(due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = time.perf_counter()
            try:
                async with client.get(path) as answer:
                    body = await answer.json()
                    done = time.perf_counter()
                    if answer.status != 200 or len(body["entries"]) != 100:
                        errors.append(f"HTTP {answer.status}")
                        return
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors.append(type(exc).__name__)
                return
            latencies.append(done - due)
            service.append(done - sent)

        # the load generator's own full collections paused it for 107-129 ms, twice a run, and the
        # answers it read meanwhile counted as that much slower (freeze_startup_heap says why)
        freeze_startup_heap()
        # each request's task is made a little before it is due (10,000 sleeping tasks made at once
        # delayed the first second's sends by their own scheduling)
        t0 = time.perf_counter() + 0.1
        tasks = []
        for i in range(RATE * SECONDS):
            due = t0 + i / RATE
            await asyncio.sleep(max(0.0, due - 0.05 - time.perf_counter()))
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
    return latencies, service, errors, elapsed


def _ms(values: list[float], q: float) -> str:
    return f"{statistics.quantiles(values, n=1000)[int(q * 1000) - 1] * 1000:.1f}" if len(values) > 1 else "-"


def run() -> None:
    home = Path(tempfile.mkdtemp(prefix="alleycat-bench-api-"))
    settings = local_stack.private_settings(
        home, ALLEYCAT_STREAM="bench-telemetry", ALLEYCAT_TABLE="bench-alleycat", ALLEYCAT_SHARDS="1"
    )
    processes = ProcessTable(home)
    try:
        local_stack.up(settings)
        local_stack.apply_env(settings)
        aws.forget_clients()
        _seed(DynamoRaceTable.from_settings(settings))
        processes.start(api_spec(settings))
        latencies, service, errors, elapsed = asyncio.run(_load(settings.api_url))
    finally:
        processes.stop("api")
        local_stack.down(settings)
        aws.forget_clients()
        shutil.rmtree(home, ignore_errors=True)
    sent = RATE * SECONDS
    print(f"   race leaderboard, {RACERS}-racer race, first page (100 entries), {sent} requests at {RATE}/s")
    print(f"   achieved: {len(latencies) / elapsed:.1f} answers/s ({len(latencies)} ok, {len(errors)} errors)")
    print(
        f"   latency from due time: p50 {_ms(latencies, 0.5)} ms, p99 {_ms(latencies, 0.99)} ms, "
        f"max {max(latencies, default=0) * 1000:.1f} ms (goal: p99 <= 50 ms)"
    )
    print(f"   service time (from send): p50 {_ms(service, 0.5)} ms, p99 {_ms(service, 0.99)} ms")
    if errors:
        print(f"   errors: {sorted(set(errors))}")


if __name__ == "__main__":
    run()
