"""`make run`: the whole pipeline on the local stack, as a sequence of named steps.

1. start the stack (servers, resources, the API, the event source mappings, the lake job);
2. race six classes of 100 racers at 5x speed into Kinesis;
3. show what arrived on the stream;
4. wait for the real-time path and show each race's final leaderboard from DynamoDB;
5. wait for the lake and show the Hudi tables' row counts and one race's top 3;
6. fetch one race's leaderboard from the API and run two library queries with the local SQL engine.
"""

from __future__ import annotations

import os
import random
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from alleycat import settings as env
from alleycat.adapters import aws
from alleycat.adapters.race_table import DynamoRaceTable
from alleycat.domain.events import CLASS_IDS, RACE_MS, InvalidEvent, RaceKey, parse_event, race_id_for
from alleycat.errors import AlleycatError, TimedOut
from alleycat.settings import Settings
from alleycat.sql_engine import local as sql_local
from alleycat.sql_engine import output as sql_output
from alleycat.sql_engine import params as sql_params
from consumers.leaderboards import result_rows
from infra.local import lake_contents, stack
from producers.kinesis import KinesisSink
from producers.readback import StreamRecord, latest_iterators, read_stream
from producers.run import RunSummary, run_simulation, summary_text
from producers.simulator import SimConfig
from producers.sinks import DeadLetterFile

RACERS_PER_CLASS = 100
SPEED = 5.0  # a 300 s race in a minute
SHOW_TOP = 5
REPO = Path(__file__).resolve().parents[1]
QUERIES = REPO / "sql" / "queries"

console = Console(soft_wrap=True)  # long lines (SQL tables, URLs) stay whole when piped


@dataclass(frozen=True)
class Simulated:
    summary: RunSummary
    start: dict[str, str]  # per shard, an iterator taken just before sending


def demo_settings(environ: Mapping[str, str]) -> Settings:
    """The environment's settings, with a lake that shows results within the demo: micro-batches
    and Firehose deliveries every 10 s (the defaults are the series' 60 s) unless the environment
    sets them. An `alleycat up` already running keeps its own settings."""
    settings = Settings.from_env(environ)
    if not environ.get(env.LAKE_TRIGGER_SECONDS):
        settings = settings.replace(lake_trigger_seconds=10)
    if not environ.get(env.FIREHOSE_BUFFER_SECONDS):
        settings = settings.replace(firehose_buffer_seconds=10.0)
    return settings


def start_stack(settings: Settings) -> Settings:
    console.rule("1. start the local stack")
    with console.status("starting servers, API, consumers and the lake job (Spark) ..."):
        stack.up_all(settings)
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
    console.print(f"watch it live: {page_url(settings, RaceKey(race_id_for(config.race_start(0)), CLASS_IDS[0]))}")
    with console.status("racing ...") as status:
        summary = run_simulation(
            config,
            sink=sink,
            speed=SPEED,
            on_tick=lambda i: status.update(f"racing: second {i + 1}/{config.race_seconds}, sent {sink.stats.sent:,}"),
        )
    console.print(summary_text(summary))
    return Simulated(summary, start)


def page_url(settings: Settings, race: RaceKey) -> str:
    """The race page (served by the API at its root) on ``race``."""
    return f"{settings.api_url}/?class={race.class_id}&race={race.race_id}"


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


def _wait(what: str, done: Callable[[], tuple[bool, str]], timeout_s: float) -> None:
    """Poll ``done`` (-> finished?, progress text) with a spinner until it is finished."""
    deadline = time.monotonic() + timeout_s
    with console.status(what) as status:
        while True:
            finished, progress = done()
            if finished:
                return
            if time.monotonic() > deadline:
                raise TimedOut(f"timed out after {timeout_s:.0f}s waiting for {what} ({progress})")
            status.update(f"{what}: {progress}")
            time.sleep(2)


def show_standings(settings: Settings, simulated: Simulated) -> list[RaceKey]:
    console.rule("4. final leaderboards (real-time path: Kinesis -> Lambda handlers -> DynamoDB)")
    races = [RaceKey(r, c) for r in simulated.summary.race_ids for c in CLASS_IDS]
    race_table = DynamoRaceTable.from_settings(settings)

    def finished() -> tuple[bool, str]:
        rows = sum(len(result_rows(race_table, r.race_id, r.class_id, RACERS_PER_CLASS)) for r in races)
        return rows == len(races) * RACERS_PER_CLASS, f"{rows}/{len(races) * RACERS_PER_CLASS} final results"

    _wait("waiting for final results", finished, timeout_s=300)
    for race in races:
        rows = result_rows(race_table, race.race_id, race.class_id, SHOW_TOP)
        title = f"race {race.race_id} class {race.class_id}: top {SHOW_TOP} of {RACERS_PER_CLASS}"
        table = Table("rank", "racerId", "name", "totalOutput", "avgOutput", "maxOutput", "seconds", title=title)
        for r in rows:
            table.add_row(str(r["rank"]), str(r["racerId"]), r["name"], f"{r['totalOutput']:,.3f}",
                          f"{r['avgOutput']:.3f}", f"{r['maxOutput']:.3f}", str(r["seconds"]))  # fmt: skip
        console.print(table)
    return races


def show_lake(settings: Settings, races: list[RaceKey]) -> None:
    console.rule("5. the lake (Firehose -> raw Parquet -> Glue job -> Hudi tables)")
    first = races[0]

    def landed() -> tuple[bool, str]:
        complete = 0
        for race in races:
            _, rows = lake_contents.top_of_race(settings, race.race_id, race.class_id, n=RACERS_PER_CLASS)
            complete += len(rows) == RACERS_PER_CLASS and all(r["finished"] for r in rows)
        return complete == len(races), f"{complete}/{len(races)} races complete in race_results"

    _wait("waiting for the Hudi tables", landed, timeout_s=420)
    counts = Table("table", "rows", title="Hudi tables (read with hudi-rs)")
    for name, rows in lake_contents.row_counts(settings).items():
        counts.add_row(name, f"{rows:,}")
    _, top = lake_contents.top_of_race(settings, first.race_id, first.class_id, n=3)
    podium = Table("rank", "racerId", "name", "totalOutput", "seconds",
                   title=f"race_results: top 3 of race {first.race_id} class {first.class_id}")  # fmt: skip
    for r in top:
        podium.add_row(str(r["rank"]), str(r["racerId"]), r["name"], f"{r['totalOutput']:,.3f}", str(r["seconds"]))
    console.print(counts, podium)


def show_api_and_sql(settings: Settings, races: list[RaceKey]) -> None:
    console.rule("6. serving: the leaderboard API and Athena SQL (local Trino)")
    race = races[0]
    url = f"{settings.api_url}/classes/{race.class_id}/races/{race.race_id}/leaderboard?limit=5"
    console.print(f"API: {settings.api_url}  (OpenAPI: {settings.api_url}/openapi.json)")
    console.print(f"GET {url}")
    # bandit B310: the API URL from the settings
    with urllib.request.urlopen(url, timeout=10) as answer:  # nosec B310
        console.print_json(answer.read().decode())
    engine = sql_local.TrinoSettings.of_stack(settings)
    for name, values in (
        ("race_podium", {"race_id": str(race.race_id), "class_id": str(race.class_id)}),
        ("class_top10", {"class_id": str(race.class_id)}),
    ):
        path = QUERIES / f"{name}.sql"
        query = sql_params.Query.from_text(path.read_text())
        console.print(
            f"\n$ alleycat sql {path.relative_to(REPO)} " + " ".join(f"--param {k}={v}" for k, v in values.items())
        )
        console.print(sql_output.render(sql_local.run(sql_params.substitute(query, values), engine), "table"))


def main() -> int:
    """The demo's edge: settings from the environment once; a typed error becomes a message."""
    try:
        return run(start_stack(demo_settings(os.environ)))
    except AlleycatError as exc:
        console.print(f"error: {exc}", style="red", markup=False)
        return exc.exit_code


def run(settings: Settings) -> int:
    simulated = simulate_races(settings)
    show_stream(settings, simulated)
    races = show_standings(settings, simulated)
    show_lake(settings, races)
    show_api_and_sql(settings, races)
    console.rule("done")
    console.print(f"The race page: {page_url(settings, races[0])} (live, results, all time, riders)")
    console.print(
        f"The stack keeps running: `alleycat status`, `alleycat leaderboard --race {races[0].race_id}`, "
        f"`alleycat lake status`; stop it with `make down`."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
