"""The real-time path on a private local stack (temporary home, free ports), without and with the lake.

Figures, each beside its yardstick from the same run:

* the Aggregator's merge (decode + validate + window state) in events/s on one core, no I/O;
* the emulator's own ceilings, on a stream of their own: raw PutRecords (``bench.producer.ceiling``)
  and raw GetRecords (every shard read from TRIM_HORIZON, nothing decoded);
* backlog drain: a stream pre-loaded while the consumer is stopped, then drained by it (Kinesis ->
  aggregator -> DynamoDB) until every racer's LIVE score equals the reference: the consumer path's
  own ceiling, which the sender cannot bound; goal >= 50% of the GetRecords ceiling. Three minutes
  of six classes of 300 racers (324,000 records), so that the consumer's start and the last
  window's close are a small part of the time measured;
* sustained end to end: the simulator at full speed (4 shards) with the consumer running, until every
  LIVE score equals the reference; goal >= 50% of the PutRecords ceiling. Three minutes of race
  (216,000 records): the last window closes up to 5 s after the last send, which in one minute's
  worth (72,000 records, 7-12 s of sending) had been a third of the time measured;
* standings freshness p50/p99 (the simulator sends a point -> it is counted in LIVE) for a race replayed in real time;
  goal p99 <= window + 1 s;
* DynamoDB writes per race; peak RSS (VmHWM) of every process of the run.

Both passes run on one stack, after twenty seconds of race through it untimed (a warm-up: DynamoDB
Local's JVM compiles its hot paths over its first writes), the second after ``alleycat lake`` (the
Firehose stand-in and the Glue job on Spark) has started, so the figures show what the lake costs the
real-time path on 2 cores. A race is ``(raceId, classId)``: a simulated slot of six classes is six
races, each with its own LIVE item.
"""

from __future__ import annotations

import base64
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from alleycat.adapters import aws
from alleycat.adapters.race_items import live_item
from alleycat.adapters.race_table import DynamoRaceTable, RaceTable
from alleycat.domain import keys
from alleycat.domain.events import InvalidEvent, RaceKey, parse_event, race_id_for
from alleycat.domain.scoring import RaceScores, score_races
from alleycat.settings import Settings
from bench.producer import CONFIG as CEILING_EVENTS
from bench.producer import ceiling as put_ceiling
from consumers.aggregator import merge_records
from infra.local import stack, workers
from infra.local.processes import ProcessTable, process_tree
from producers.simulator import SimConfig, Simulator
from producers.sinks import Record, partition_key

REPO = Path(__file__).resolve().parents[1]
SHARDS = 4
CONVERGE_TIMEOUT_S = 300.0
SUSTAINED_S = 180  # of race, six classes of 200 racers: 216,000 records
BACKLOG_S = 180  # of race, six classes of 300 racers: 324,000 records (one minute drained in 3 s)


def _item_bytes(value: Any) -> int:
    """An item's size as DynamoDB counts it (what WCUs are charged on): attribute names and values,
    text in UTF-8, binary as its bytes, a number about one byte per two digits, 3 bytes per map or
    list besides what is in it."""
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + _item_bytes(v) for k, v in value.items())
    if isinstance(value, list):
        return 3 + sum(_item_bytes(v) for v in value)
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    return len(str(value).lstrip("-").replace(".", "")) // 2 + 1


def merge_rate(batches: int = 50, size: int = 1000) -> float:
    config = SimConfig(start_ms=1_700_000_100_000, seed=1, classes=(1, 2, 3, 4, 5, 6), racers=200, race_seconds=60)
    events = [ev for tick in Simulator(config).ticks() for ev in tick.events][:size]
    batch = [
        {"kinesis": {"data": base64.b64encode(ev.to_json()).decode(), "partitionKey": str(ev.race_id)}} for ev in events
    ]
    started = time.process_time()
    for _ in range(batches):
        state: dict = {}
        merge_records(state, batch)
        json.dumps(state)  # the runtime passes the state through JSON
    return batches * size / (time.process_time() - started)


def _reference(path: Path) -> dict[RaceKey, RaceScores]:
    events = []
    for line in path.read_bytes().splitlines():
        try:
            events.append(parse_event(line))
        except InvalidEvent:
            continue
    return score_races(events)


@dataclass
class Pass:
    """One pass's figures (without or with the lake)."""

    lake: bool
    put_ceiling: float = 0.0
    get_ceiling: float = 0.0
    drain: float = 0.0
    sustained: float = 0.0
    fresh_p50: float = 0.0
    fresh_p99: float = 0.0
    peaks: dict[str, int] = field(default_factory=dict)  # process -> peak RSS, bytes


def _simulate(out: Path, start: str, racers: int, seconds: int, speed: float) -> int:
    """Run the simulator into the stream (and ``out``); returns its peak RSS in bytes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--classes", "1,2,3,4,5,6", "--racers", str(racers),
         "--race-seconds", str(seconds), "--speed", str(speed), "--start", start, "--seed", "5", "--out", str(out)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return _reap(proc)


def _reap(proc: subprocess.Popen[bytes]) -> int:
    """Wait for a child; its peak RSS in bytes, sampled from /proc while it runs (a child's
    ru_maxrss would count the parent's pages from before its exec: Linux keeps the larger)."""
    peak = 0
    while proc.poll() is None:
        time.sleep(0.1)  # first sample after its exec: before it, the child's memory is this process's
        peak = max(peak, _peak(proc.pid))
    if proc.returncode:
        raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
    return peak


def _converge(table: DynamoRaceTable, races: dict[RaceKey, RaceScores], started: float) -> float:
    """Seconds from ``started`` until every racer's LIVE score equals the reference. Each race's
    LIVE version is polled (a read of one number) and its scores are read only when it moved: the
    whole item, up to 86 KB, read ten times a second for six races, loaded DynamoDB Local, on the
    cores the pipeline shares, with a third of its work during a drain."""
    pending, seen = set(races), dict[RaceKey, object]()
    while pending and time.monotonic() - started < CONVERGE_TIMEOUT_S:
        for race in list(pending):
            key = {"PK": keys.race_pk(*race), "SK": keys.LIVE_SK}
            item = table.table.get_item(Key=key, ProjectionExpression="version", ConsistentRead=True).get("Item")
            if item is None or seen.get(race) == item["version"]:
                continue
            seen[race] = item["version"]
            live = table.read_live(*race)
            if live and all(
                racer in live.race.racers and live.race.racers[racer].to_compact() == score.to_compact()
                for racer, score in races[race].racers.items()
            ):
                pending.discard(race)
        time.sleep(0.1)
    if pending:
        raise RuntimeError(f"{len(pending)} race(s) never converged in LIVE: events lost")
    return time.monotonic() - started


def _yardstick_stream(settings: Settings, name: str) -> str:
    """A stream of the yardsticks' own, with the pipeline's shard count (no consumer reads it)."""
    kinesis = aws.client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=settings.shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    return name


def get_ceiling(stream: str) -> float:
    """Records/s of raw GetRecords over every shard from TRIM_HORIZON until drained, one thread per
    shard (as the mapping polls), nothing decoded: the emulator's read ceiling. Read with the
    mapping's own client (``aws.stream_reader``): the default one builds a local-zone datetime per
    record, which put the ceiling 20% lower (46,788 against 58,433 records/s on one stream)."""
    kinesis = aws.stream_reader("kinesis")
    shards = [s["ShardId"] for s in kinesis.list_shards(StreamName=stream)["Shards"]]
    counts = [0] * len(shards)

    def read(n: int) -> None:
        iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shards[n], ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while iterator:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            counts[n] += len(answer["Records"])
            if not answer["Records"] and answer.get("MillisBehindLatest", 0) == 0:
                return
            iterator = answer.get("NextShardIterator")

    started = time.monotonic()
    threads = [threading.Thread(target=read, args=(n,)) for n in range(len(shards))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - started)


def _peak(pid: int) -> int:
    """A running process's peak RSS (VmHWM), bytes; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _stack_peaks(settings: Settings, names: tuple[str, ...]) -> dict[str, int]:
    """Each named process's peak RSS; a worker's children (the lake's JVM) are shown on their own."""
    table = ProcessTable(settings.home)
    peaks: dict[str, int] = {}
    for name in names:
        pid = table.pid(name)
        if pid is None:
            continue
        peaks[name] = _peak(pid)
        for child in sorted(process_tree(pid) - {pid}):
            comm = Path(f"/proc/{child}/comm").read_text().strip() if Path(f"/proc/{child}/comm").exists() else "?"
            if peak := _peak(child):  # 0: it ended between the listing and the read
                peaks[f"{name}: {comm} {child}"] = peak
    return peaks


def freshness(table: RaceTable, fresh: Path, start: str) -> tuple[list[float], int]:
    """A race of 6 x 50 racers replayed in real time (speed 1) into the transport the environment
    names; each point's seconds from when the simulator sent its second (its first send + second - 1,
    as on a real bike) to when it shows up in LIVE, sorted; and the simulator's peak RSS."""
    sim_peak = 0
    sim = subprocess.Popen(
        [sys.executable, "-m", "alleycat.cli", "simulate", "--classes", "1,2,3,4,5,6", "--racers", "50",
         "--race-seconds", "30", "--speed", "1", "--start", start, "--seed", "9", "--out", str(fresh)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # The simulator's second 1 goes out with its first write of --out, after its own start-up
    # (a Python process and its imports: about a second, which is not the pipeline's)
    while not (fresh.exists() and fresh.stat().st_size):
        if sim.poll() is not None:
            raise RuntimeError(f"the freshness race's simulator ended ({sim.returncode}) before sending")
        time.sleep(0.01)
    first_sent = fresh.stat().st_mtime
    fresh_races = [RaceKey(_reference_race_id(start), c) for c in range(1, 7)]
    seen: dict[int, int] = {}
    visible: dict[tuple[int, int], float] = {}
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        for race in fresh_races:
            _poll_live(table, race, seen, visible)
        if deadline is None:
            sim_peak = max(sim_peak, _peak(sim.pid))
            if sim.poll() is not None:  # the race is over: its last windows still to come
                deadline = time.monotonic() + 12
        time.sleep(0.1)
    return sorted(at - (first_sent + second - 1) for (_, second), at in visible.items()), sim_peak


def _warm_up(settings: Settings, table: DynamoRaceTable, tmp: Path) -> None:
    """Twenty seconds of race through the running consumer, untimed, before anything is measured:
    DynamoDB Local is a JVM whose first writes run interpreted (in one session the first drain on a
    fresh stack took 16,422-20,140 events/s, the drains after it 21,000-27,000), and DynamoDB
    itself is always warm."""
    warm = tmp / "warm-up.jsonl"
    ProcessTable(settings.home).start(workers.consumer_spec(settings))
    _simulate(warm, "2030-01-01T00:00:00Z", racers=300, seconds=20, speed=0)
    _converge(table, _reference(warm), time.monotonic())


def _one_pass(settings: Settings, table: DynamoRaceTable, tmp: Path, figures: Pass, year: int) -> None:
    """The yardsticks, the backlog drain, sustained end to end and freshness, then the peaks."""
    processes = ProcessTable(settings.home)
    label = "with the lake" if figures.lake else "without the lake"
    records = [
        Record(ev.to_json(), partition_key(ev, "race")) for t in Simulator(CEILING_EVENTS).ticks() for ev in t.events
    ]
    yardstick = _yardstick_stream(settings, f"yardstick-{year}")
    figures.put_ceiling = put_ceiling(yardstick, records)
    figures.get_ceiling = get_ceiling(yardstick)
    print(
        f"   [{label}] emulator ceilings: PutRecords {figures.put_ceiling:,.0f} records/s, "
        f"GetRecords {figures.get_ceiling:,.0f} records/s",
        flush=True,
    )

    # 1. backlog drain: the consumer stopped while the stream fills, then timed until LIVE is right
    processes.stop("consumer")
    backlog = tmp / f"backlog-{year}.jsonl"
    sim_peak = _simulate(backlog, f"{year}-01-01T00:00:00Z", racers=300, seconds=BACKLOG_S, speed=0)
    races = _reference(backlog)
    events = sum(1 for _ in backlog.open("rb"))
    started = time.monotonic()
    processes.start(workers.consumer_spec(settings))
    drained_s = _converge(table, races, started)
    figures.drain = events / drained_s
    print(
        f"   [{label}] backlog drain: {events:,} records in {drained_s:.1f} s (consumer start and the last "
        f"5 s window included): {figures.drain:,.0f} events/s, {figures.drain / figures.get_ceiling:.0%} of "
        f"GetRecords",
        flush=True,
    )

    # 2. sustained: the simulator at full speed into the running consumer
    out = tmp / f"max-{year}.jsonl"
    started = time.monotonic()
    sim_peak = max(sim_peak, _simulate(out, f"{year}-02-01T00:00:00Z", racers=200, seconds=SUSTAINED_S, speed=0))
    sent_s = time.monotonic() - started
    races = _reference(out)
    events = sum(1 for _ in out.open("rb"))
    done_s = _converge(table, races, started)
    figures.sustained = events / done_s
    print(
        f"   [{label}] sustained: {events:,} records sent in {sent_s:.1f} s, all counted in LIVE after "
        f"{done_s:.1f} s: {figures.sustained:,.0f} events/s end to end, "
        f"{figures.sustained / figures.put_ceiling:.0%} of PutRecords (zero loss)",
        flush=True,
    )
    for race in sorted(races)[:1]:
        live = table.read_live(*race)
        if live is not None:
            print(
                f"   [{label}] a LIVE item: {_item_bytes(live_item(live)):,} bytes for "
                f"{len(live.race.racers)} racers after {live.version} writes"
            )

    # 3. freshness: a race replayed in real time (speed 1); a point's event time is when the
    # simulator sent its second (run start + second - 1), as on a real bike
    lags, fresh_peak = freshness(table, tmp / f"fresh-{year}.jsonl", f"{year}-03-01T00:00:00Z")
    sim_peak = max(sim_peak, fresh_peak)
    figures.fresh_p50, figures.fresh_p99 = statistics.median(lags), lags[max(0, int(len(lags) * 0.99) - 1)]
    print(
        f"   [{label}] freshness (sent -> counted in LIVE), {len(lags):,} points of 300 racers: "
        f"p50 {figures.fresh_p50:.2f} s, p99 {figures.fresh_p99:.2f} s (goal p99 <= 6 s: window 5 s + 1 s)",
        flush=True,
    )

    names = ("kinesis", "dynamodb", "trino", "consumer", "firehose", "lake")
    figures.peaks = {
        **_stack_peaks(settings, names),
        "simulator": sim_peak,
        "bench (this process)": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def _writes(settings: Settings, table: RaceTable, races: set[RaceKey]) -> None:
    results = bests = 0
    log = ProcessTable(settings.home).log_path("consumer")
    for line in log.read_text(errors="replace").splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue  # a line of another writer (the JVM, a traceback)
        if isinstance(doc, dict) and doc.get("message") == "results written":
            results += doc["results"]
            bests += doc["bests"]
    live_writes = sum(live.version for r in races if (live := table.read_live(*r)) is not None)
    print(
        f"   DynamoDB writes for {len(races)} races: LIVE {live_writes}, RESULT {results}, BEST {bests} "
        f"(+ CLASS items); per race: {(live_writes + results + bests) / len(races):,.0f}"
    )


def _table(passes: list[Pass]) -> None:
    mib = 1024 * 1024
    rows = [
        ("PutRecords ceiling, records/s", [f"{p.put_ceiling:,.0f}" for p in passes]),
        ("sustained end to end, events/s", [f"{p.sustained:,.0f} ({p.sustained / p.put_ceiling:.0%})" for p in passes]),
        ("GetRecords ceiling, records/s", [f"{p.get_ceiling:,.0f}" for p in passes]),
        ("backlog drain, events/s", [f"{p.drain:,.0f} ({p.drain / p.get_ceiling:.0%})" for p in passes]),
        ("freshness p50 / p99, s", [f"{p.fresh_p50:.2f} / {p.fresh_p99:.2f}" for p in passes]),
    ]
    names = sorted({n for p in passes for n in p.peaks}, key=lambda n: (n.startswith("bench"), n))
    rows += [
        (f"peak RSS {n}, MiB", [f"{p.peaks[n] / mib:,.0f}" if n in p.peaks else "-" for p in passes]) for n in names
    ]
    print(
        "\n   | measure (goal: sustained >= 50% of PutRecords, drain >= 50% of GetRecords, p99 <= 6 s) "
        "| without the lake | with the lake |"
    )
    print("   | --- | --- | --- |")
    for name, values in rows:
        print(f"   | {name} | {' | '.join(values)} |")


def run() -> None:
    rate = merge_rate()
    print(f"   aggregator merge (decode, validate, window state), no I/O: {rate:,.0f} events/s per core", flush=True)

    with tempfile.TemporaryDirectory(prefix="alleycat-bench-") as tmp:
        settings = stack.private_settings(
            Path(tmp) / "home", ALLEYCAT_SHARDS=str(SHARDS), ALLEYCAT_KINESIS_LIMITS="off"
        )
        stack.up(settings)
        stack.apply_env(settings)
        aws.forget_clients()
        table = DynamoRaceTable.from_settings(settings)
        processes = ProcessTable(settings.home)
        passes = [Pass(lake=False), Pass(lake=True)]
        try:
            _warm_up(settings, table, Path(tmp))
            _one_pass(settings, table, Path(tmp), passes[0], 2031)
            started = time.monotonic()
            for spec in (workers.firehose_spec(settings), workers.lake_spec(settings)):
                processes.start(spec)
            lake_s = time.monotonic() - started
            print(f"   the lake (Firehose stand-in + Glue job on Spark) streaming after {lake_s:.0f} s", flush=True)
            _one_pass(settings, table, Path(tmp), passes[1], 2033)
            # every race the consumer wrote, the warm-up's too: its log counts their RESULT and BEST writes
            races = {race for path in Path(tmp).glob("*.jsonl") for race in _reference(path)}
            _writes(settings, table, races)
            _table(passes)
        finally:
            stack.down(settings)
            aws.forget_clients()


def _reference_race_id(start: str) -> int:
    return race_id_for(int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp() * 1000))


def _poll_live(table: RaceTable, race: RaceKey, seen: dict[int, int], visible: dict[tuple[int, int], float]) -> None:
    """Record when each (racer, second) of a race first shows up in its LIVE item (racerIds are
    unique across the classes of a slot, so one ``seen`` serves them all)."""
    live = table.read_live(*race)
    if live is None:
        return
    now = time.time()
    for racer_id, score in live.race.racers.items():
        new = score.counted & ~seen.get(racer_id, 0)
        while new:
            bit = new & -new
            visible[(racer_id, bit.bit_length() - 1)] = now
            new ^= bit
        seen[racer_id] = score.counted
