"""The event source mapping runtime across shard splits and merges on the real local Kinesis.

One window-less mapping (the Aggregator's settings with this module's recording handler) runs
in-process on the test's own stream of 2 shards while the stream is resharded:

    shardId-0 --split--> shardId-2 (lower half)
                         shardId-3 (upper half) --merge with shardId-1--> shardId-4

so a partition key lives in shard 0 -> 2, in shard 0 -> 3 -> 4, or in shard 1 -> 4. Every record
must be delivered exactly once, in order per partition key, no child shard's record before its
parents' last one, and the closed parents' checkpoints must say "finished".
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

import pytest

from alleycat.adapters import aws
from alleycat.resources import MAPPINGS
from alleycat.settings import Settings
from infra.local.esm.checkpoints import CheckpointStore
from infra.local.esm.runtime import MappingRunner

pytestmark = pytest.mark.stack

KEYS_PER_RANGE = 3  # partition keys per final hash range (shard 2, the shard-3 half of 4, the shard-1 half of 4)
PER_PHASE = 8  # records per partition key before the split, between split and merge, after the merge
DEADLINE_S = 20.0


@dataclass(frozen=True)
class Delivery:
    shard: str
    sequence_number: str
    key: str
    n: int


_lock = threading.Lock()
DELIVERED: list[Delivery] = []  # in the order the handler saw them
FINALS: list[tuple[str, int]] = []  # tumbling windows: (shard, len(DELIVERED) at the final invoke)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The recording fake function (what the mapping's ``handler`` points at)."""
    with _lock:
        for record in event["Records"]:
            shard, _, seq = record["eventID"].rpartition(":")
            doc = json.loads(base64.b64decode(record["kinesis"]["data"]))
            assert seq == record["kinesis"]["sequenceNumber"]
            DELIVERED.append(Delivery(shard, seq, doc["key"], doc["n"]))
        if event.get("isFinalInvokeForWindow"):
            FINALS.append((event["shardId"], len(DELIVERED)))
    if "window" in event:
        return {"state": {"records": event["state"].get("records", 0) + len(event["Records"])}}
    return {"batchItemFailures": []}


def hash_of(key: str) -> int:
    return int(hashlib.md5(key.encode()).hexdigest(), 16)


def shard_table(kinesis: Any, stream: str) -> dict[str, dict[str, Any]]:
    return {s["ShardId"]: s for s in kinesis.list_shards(StreamName=stream)["Shards"]}


def hash_range(shard: dict[str, Any]) -> tuple[int, int]:
    return int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])


def put_phase(kinesis: Any, stream: str, keys: list[str], phase: int) -> None:
    """Records ``phase*PER_PHASE .. (phase+1)*PER_PHASE-1`` of every key, interleaved, in order."""
    records = [
        {"PartitionKey": key, "Data": json.dumps({"key": key, "n": n}).encode()}
        for n in range(phase * PER_PHASE, (phase + 1) * PER_PHASE)
        for key in keys
    ]
    for start in range(0, len(records), 100):
        out = kinesis.put_records(StreamName=stream, Records=records[start : start + 100])
        assert out.get("FailedRecordCount", 0) == 0


def wait_until(what: str, done: Any, deadline: float) -> None:
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def delivered_count() -> int:
    with _lock:
        return len(DELIVERED)


@pytest.mark.parametrize(
    ("mode", "parallelization", "window"),
    [("live", 1, False), ("backlog", 3, False), ("restart", 1, False), ("live", 1, True), ("backlog", 1, True)],
    ids=["live", "backlog-parallel", "restart", "live-window", "backlog-window"],
)
def test_parents_are_drained_before_children_across_split_and_merge(
    own_stream: Settings, caplog: pytest.LogCaptureFixture, mode: str, parallelization: int, window: bool
) -> None:
    """``live``: the mapping runs throughout, and each phase is delivered before the next
    resharding, so pollers sit at the tip of a shard when it closes. ``backlog``: the
    stream is resharded first, then the mapping starts and must drain three generations in order
    (here with ParallelizationFactor 3). ``restart``: live until after the split, then the mapping
    stops, the stream is merged, and a new runner goes on from the checkpoints alone. ``window``:
    the Aggregator's tumbling window, whose checkpoints move only at a final invoke: a closed
    parent's open window is closed before its children start."""
    caplog.set_level(logging.INFO, logger="alleycat.esm")
    settings = own_stream
    aggregator = next(m for m in MAPPINGS if m.name == "Aggregator")
    mapping = replace(
        aggregator,
        name="ReshardProbe",
        handler=f"{__name__}.handler",
        tumbling_window_s=aggregator.tumbling_window_s if window else None,
        batch_size=5,
        max_batching_window_s=0,
        parallelization_factor=parallelization,
    )
    kinesis = aws.client("kinesis", settings.region)
    stream = settings.stream

    shards = shard_table(kinesis, stream)
    assert sorted(shards) == ["shardId-000000000000", "shardId-000000000001"]
    lo0, hi0 = hash_range(shards["shardId-000000000000"])
    lo1, hi1 = hash_range(shards["shardId-000000000001"])
    assert hi0 + 1 == lo1
    middle = (lo0 + hi0 + 1) // 2

    # partition keys in each of the three final ranges
    ranges = {"low": (lo0, middle - 1), "high": (middle, hi0), "right": (lo1, hi1)}
    by_range: dict[str, list[str]] = {name: [] for name in ranges}
    i = 0
    while any(len(v) < KEYS_PER_RANGE for v in by_range.values()):
        key = f"racer-{i}"
        i += 1
        for name, (lo, hi) in ranges.items():
            if lo <= hash_of(key) <= hi and len(by_range[name]) < KEYS_PER_RANGE:
                by_range[name].append(key)
    keys = [k for v in by_range.values() for k in v]

    with _lock:
        DELIVERED.clear()
        FINALS.clear()
    checkpoints = CheckpointStore(settings.home, mapping.name)
    runners: list[tuple[MappingRunner, threading.Event]] = []
    deadline = time.monotonic() + DEADLINE_S

    def start() -> None:
        stop = threading.Event()
        runner = MappingRunner(mapping, settings, stop)
        runners.append((runner, stop))
        runner.start()

    def stop_all() -> None:
        for runner, stop in runners:
            stop.set()
            if runner.is_alive():
                runner.join(timeout=10)
            assert not runner.is_alive()

    def delivered_through(phase: int) -> Any:
        return lambda: delivered_count() >= len(keys) * PER_PHASE * (phase + 1)

    def checkpointed(phase: int) -> Any:
        """Phases 0..phase delivered; every shard's checkpoint at its last delivered record, the
        closed shards' finished."""

        def done() -> bool:
            if not delivered_through(phase)():
                return False
            with _lock:
                last = last_sequence_numbers(DELIVERED)
            for sid, shard in shard_table(kinesis, stream).items():
                cp = checkpoints.load(sid)
                if cp is None or cp.sequence_number != last.get(sid):
                    return False
                if shard["SequenceNumberRange"].get("EndingSequenceNumber") and not cp.finished:
                    return False
            return True

        return done

    # live: before resharding, wait until a phase is delivered (a window may still be open: the
    # shard's close must close it); before a restart, until it is checkpointed too
    between = {"live": delivered_through, "restart": checkpointed}.get(mode)
    try:
        if between:
            start()
        put_phase(kinesis, stream, keys, 0)
        if between:
            wait_until("phase 0", between(0), deadline)
        kinesis.split_shard(StreamName=stream, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(middle))
        wait_for_active(kinesis, stream)
        put_phase(kinesis, stream, keys, 1)
        if between:
            wait_until("phase 1", between(1), deadline)
        if mode == "restart":  # the consumer stops; the next one must go on from the checkpoints
            stop_all()
        kinesis.merge_shards(
            StreamName=stream, ShardToMerge="shardId-000000000003", AdjacentShardToMerge="shardId-000000000001"
        )
        wait_for_active(kinesis, stream)
        put_phase(kinesis, stream, keys, 2)
        if mode in ("backlog", "restart"):
            start()
        wait_until("every record delivered and checkpointed, the closed shards finished", checkpointed(2), deadline)
    finally:
        stop_all()

    shards = shard_table(kinesis, stream)
    parents = {
        sid: tuple(p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p)
        for sid, s in shards.items()
    }
    assert parents == {
        "shardId-000000000000": (),
        "shardId-000000000001": (),
        "shardId-000000000002": ("shardId-000000000000",),
        "shardId-000000000003": ("shardId-000000000000",),
        "shardId-000000000004": ("shardId-000000000003", "shardId-000000000001"),
    }
    closed = {sid for sid, s in shards.items() if s["SequenceNumberRange"].get("EndingSequenceNumber")}
    assert closed == {"shardId-000000000000", "shardId-000000000001", "shardId-000000000003"}

    with _lock:
        delivered = list(DELIVERED)

    # exactly once
    seen = [(d.key, d.n) for d in delivered]
    assert len(seen) == len(set(seen)), f"duplicates: {len(seen) - len(set(seen))}"
    assert sorted(seen) == sorted((k, n) for k in keys for n in range(3 * PER_PHASE))

    # per partition key, in order, across parent -> child
    for key in keys:
        assert [d.n for d in delivered if d.key == key] == list(range(3 * PER_PHASE)), key

    # the shards each key went through, in delivery order
    paths = {key: list(dict.fromkeys(d.shard for d in delivered if d.key == key)) for key in keys}
    sh = "shardId-00000000000"
    for key in by_range["low"]:
        assert paths[key] == [f"{sh}0", f"{sh}2"], key
    for key in by_range["high"]:
        assert paths[key] == [f"{sh}0", f"{sh}3", f"{sh}4"], key
    for key in by_range["right"]:
        assert paths[key] == [f"{sh}1", f"{sh}4"], key

    # no child record delivered before its parents' last record
    positions: dict[str, list[int]] = defaultdict(list)
    for index, d in enumerate(delivered):
        positions[d.shard].append(index)
    for child, its_parents in parents.items():
        for parent in its_parents:
            assert max(positions[parent]) < min(positions[child]), f"{child} before {parent} was drained"

    # checkpoints: closed parents finished at their last record, open shards at theirs
    last = last_sequence_numbers(delivered)
    for sid in shards:
        cp = checkpoints.load(sid)
        assert cp is not None, sid
        assert cp.finished == (sid in closed), sid
        assert cp.sequence_number == last[sid], sid

    if window:  # a closed parent's window got its final invoke before any child record
        with _lock:
            finals = list(FINALS)
        for child, its_parents in parents.items():
            for parent in its_parents:
                assert any(
                    shard == parent and max(positions[parent]) < at <= min(positions[child]) for shard, at in finals
                ), f"no final invoke of {parent} before {child} started"

    assert not (settings.dead_letter_dir / f"esm-{mapping.name}").exists()
    failures = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not failures, [r.getMessage() for r in failures]


def last_sequence_numbers(delivered: list[Delivery]) -> dict[str, str]:
    """Each shard's highest delivered sequence number (with ParallelizationFactor > 1 the lanes
    finish in any order, so the last delivered is not necessarily the last of the shard)."""
    out: dict[str, str] = {}
    for d in delivered:
        if d.shard not in out or int(d.sequence_number) > int(out[d.shard]):
            out[d.shard] = d.sequence_number
    return out


def wait_for_active(kinesis: Any, stream: str) -> None:
    deadline = time.monotonic() + 10
    while kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, "stream did not become ACTIVE"
        time.sleep(0.05)
