"""Tumbling windows, lanes, checkpoints and mapping validation of the local runtime (no server)."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from alleycat.domain.windows import MAX_STATE_BYTES, iso_utc
from alleycat.resources import MAPPINGS
from infra.local.esm.checkpoints import Checkpoint, CheckpointStore
from infra.local.esm.delivery import Policy
from infra.local.esm.invokers import LaneInvoker, WindowInvoker, lane_of
from infra.local.esm.runtime import InvalidMapping, validate
from infra.local.esm.shapes import StreamRecord

POLICY = Policy(2, -1, True, True, backoff_base_s=0.0, backoff_max_s=0.0)
T0 = 1_700_000_000.0  # a multiple of 5


def rec(seq: int, arrival: float, key: str = "k") -> StreamRecord:
    return StreamRecord(str(seq), arrival, key, {"n": seq}, 100)


class Counting:
    """A windowed function that counts records into its state."""

    def __init__(self, fail_finals: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.fail_finals = fail_finals

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        if event["isFinalInvokeForWindow"]:
            if self.fail_finals:
                self.fail_finals -= 1
                raise RuntimeError("final failed")
            return {"state": {}}
        return {"state": {"n": event["state"].get("n", 0) + len(event["Records"])}}


def window_invoker(fn: Any, checkpoints: list[str], window_s: int = 5, batch: int = 100) -> WindowInvoker:
    return WindowInvoker(fn, batch, window_s, "shardId-0", "arn", POLICY, lambda *a: None, checkpoints.append,
                         threading.Event())  # fmt: skip


def test_state_is_passed_between_invocations_and_the_final_invoke_has_no_records() -> None:
    fn, cps = Counting(), list[str]()
    inv = window_invoker(fn, cps, batch=2)
    assert inv.process([rec(1, T0 + 0.1), rec(2, T0 + 1), rec(3, T0 + 2)])
    assert [len(e["Records"]) for e in fn.events] == [2, 1]
    assert fn.events[1]["state"] == {"n": 2}
    assert fn.events[0]["window"] == {"start": iso_utc(T0), "end": iso_utc(T0 + 5)}
    assert cps == []  # nothing is checkpointed before the window closes
    assert inv.close_if_due(T0 + 4.9) and len(fn.events) == 2
    assert inv.close_if_due(T0 + 5.0)
    final = fn.events[-1]
    assert final["isFinalInvokeForWindow"] and final["Records"] == [] and final["state"] == {"n": 3}
    assert final["shardId"] == "shardId-0" and not final["isWindowTerminatedEarly"]
    assert cps == ["3"]


def test_a_record_of_the_next_window_closes_the_current_one_first() -> None:
    fn, cps = Counting(), list[str]()
    inv = window_invoker(fn, cps)
    assert inv.process([rec(1, T0 + 1), rec(2, T0 + 4.99), rec(3, T0 + 5.0), rec(4, T0 + 12)])
    kinds = [(len(e["Records"]), e["isFinalInvokeForWindow"], e["window"]["start"]) for e in fn.events]
    assert kinds == [
        (2, False, iso_utc(T0)),
        (0, True, iso_utc(T0)),
        (1, False, iso_utc(T0 + 5)),
        (0, True, iso_utc(T0 + 5)),
        (1, False, iso_utc(T0 + 10)),
    ]
    assert cps == ["2", "3"]
    assert fn.events[2]["state"] == {}  # a new window starts with an empty state


def test_a_failed_final_invoke_is_retried_until_it_succeeds() -> None:
    fn, cps = Counting(fail_finals=3), list[str]()
    inv = window_invoker(fn, cps)
    assert inv.process([rec(1, T0)]) and inv.close()
    assert sum(e["isFinalInvokeForWindow"] for e in fn.events) == 4
    assert cps == ["1"]


def test_a_state_over_1_mb_ends_the_window_early_and_the_window_goes_on_fresh() -> None:
    events: list[dict[str, Any]] = []

    def big(event: dict[str, Any]) -> dict[str, Any]:
        events.append(event)
        return {"state": {} if event["isFinalInvokeForWindow"] else {"blob": "x" * (MAX_STATE_BYTES + 1)}}

    cps: list[str] = []
    inv = window_invoker(big, cps, batch=1)
    assert inv.process([rec(1, T0), rec(2, T0 + 1)])
    flags = [(e["isFinalInvokeForWindow"], e["isWindowTerminatedEarly"], len(e["Records"])) for e in events]
    assert flags == [(False, False, 1), (True, True, 0), (False, False, 1), (True, True, 0)]
    assert events[2]["state"] == {} and events[2]["window"] == events[0]["window"]
    assert cps == ["1", "2"]


def test_a_window_response_without_state_is_a_function_error() -> None:
    calls: list[dict[str, Any]] = []

    def no_state(event: dict[str, Any]) -> dict[str, Any]:
        calls.append(event)
        return {"batchItemFailures": []}

    discarded: list[Any] = []
    inv = WindowInvoker(no_state, 10, 5, "s", "arn", POLICY, lambda b, c, a, e: discarded.append(c), lambda s: None,
                        threading.Event())  # fmt: skip
    assert inv.process([rec(1, T0)])
    assert len(calls) == 3 and discarded == ["RetryAttemptsExhausted"]


def test_lanes_keep_order_per_partition_key_and_checkpoint_after_all_lanes() -> None:
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def fn(event: dict[str, Any]) -> None:
        with lock:
            seen.extend((r["key"], r["n"]) for r in event["Records"])

    recs = [StreamRecord(str(i), T0, f"race-{i % 7}", {"key": f"race-{i % 7}", "n": i}, 10) for i in range(500)]
    cps: list[str] = []
    inv = LaneInvoker(fn, 10, 4, POLICY, lambda *a: None, cps.append, threading.Event())
    try:
        assert inv.process(recs)
    finally:
        inv.shutdown()
    assert sorted(n for _, n in seen) == list(range(500))
    for key in {k for k, _ in seen}:
        order = [n for k, n in seen if k == key]
        assert order == sorted(order)
    assert cps == ["499"]
    assert len({lane_of(f"race-{i}", 4) for i in range(50)}) == 4


def test_checkpoints_persist_and_resume(tmp_path) -> None:
    store = CheckpointStore(tmp_path, "Aggregator")
    assert store.load("shardId-0") is None
    store.save("shardId-0", Checkpoint(None, False, 123.0))
    store.advance("shardId-0", "42")
    again = CheckpointStore(tmp_path, "Aggregator")  # a restarted process
    assert again.load("shardId-0") == Checkpoint("42", False, 123.0)
    again.finish("shardId-0")
    finished = again.load("shardId-0")
    assert finished is not None and finished.finished
    assert [p.name for p in (tmp_path / "esm" / "Aggregator").iterdir()] == ["shardId-0.json"]  # no temp files left


def test_mappings_are_valid_and_a_tumbling_window_rejects_parallelization() -> None:
    for mapping in MAPPINGS:
        validate(mapping)
    aggregator = next(m for m in MAPPINGS if m.tumbling_window_s)
    with pytest.raises(InvalidMapping):
        validate(dataclasses.replace(aggregator, parallelization_factor=2))
    with pytest.raises(InvalidMapping):
        validate(dataclasses.replace(MAPPINGS[1], parallelization_factor=11))
