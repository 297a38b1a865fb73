"""The local event source mapping's error semantics (no server): retries, bisection, partial
batch responses, record age, the on-failure record."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence, Set

import pytest

from infra.local.esm.delivery import FunctionError, OnFailureDestination, Policy, chunks, deliver, first_failed
from infra.local.esm.shapes import StreamRecord

NOW = 1_700_000_000.0


def records(n: int, start: int = 100, arrival: float = NOW) -> list[StreamRecord]:
    return [StreamRecord(str(start + i), arrival + i * 0.001, f"pk{i}", {"seq": str(start + i)}, 200) for i in range(n)]


def policy(retries: int = 2, age: int = -1, bisect: bool = True, report: bool = True) -> Policy:
    return Policy(retries, age, bisect, report, backoff_base_s=0.0, backoff_max_s=0.0)


class Recorder:
    """A function that fails on some sequence numbers, and the discarded batches."""

    def __init__(self, poison: Set[str] = frozenset(), partial: Set[str] = frozenset()) -> None:
        self.poison = poison
        self.partial = partial
        self.calls: list[list[str]] = []
        self.processed: list[str] = []
        self.discarded: list[tuple[list[str], str, int]] = []

    def invoke(self, batch: Sequence[StreamRecord]) -> dict | None:
        seqs = [r.sequence_number for r in batch]
        self.calls.append(seqs)
        if self.poison & set(seqs):
            raise RuntimeError("boom")
        failed = [s for s in seqs if s in self.partial]
        if failed:
            self.processed.extend(seqs[: seqs.index(failed[0])])
            return {"batchItemFailures": [{"itemIdentifier": s} for s in failed]}
        self.processed.extend(seqs)
        return None

    def discard(self, batch: Sequence[StreamRecord], condition: str, attempts: int, error: str | None) -> None:
        self.discarded.append(([r.sequence_number for r in batch], condition, attempts))


def run(rec: Recorder, batch: list[StreamRecord], pol: Policy, now: float = NOW) -> bool:
    return deliver(batch, rec.invoke, pol, rec.discard, threading.Event(), now=lambda: now)


def test_success_is_one_call() -> None:
    rec = Recorder()
    assert run(rec, records(5), policy())
    assert rec.calls == [["100", "101", "102", "103", "104"]]
    assert rec.discarded == []


def test_bisect_isolates_a_poison_record_and_everything_else_is_processed() -> None:
    rec = Recorder(poison={"105"})
    assert run(rec, records(16), policy(retries=3))
    assert sorted(rec.processed) == sorted(str(100 + i) for i in range(16) if i != 5)
    assert rec.discarded == [(["105"], "RetryAttemptsExhausted", 4)]


def test_without_bisect_the_whole_batch_is_retried_then_given_up() -> None:
    rec = Recorder(poison={"101"})
    assert run(rec, records(3), policy(retries=2, bisect=False))
    assert len(rec.calls) == 3  # first attempt + 2 retries
    assert rec.discarded == [(["100", "101", "102"], "RetryAttemptsExhausted", 3)]
    assert rec.processed == []


def test_partial_failure_resumes_from_the_lowest_reported_sequence_number() -> None:
    rec = Recorder(partial={"103", "106"})
    assert run(rec, records(8), policy(retries=1))
    assert rec.calls[0] == [str(s) for s in range(100, 108)]
    assert rec.calls[1] == [str(s) for s in range(103, 108)]  # retried from 103, not from 106
    assert rec.processed == ["100", "101", "102"]
    assert rec.discarded == [([str(s) for s in range(103, 108)], "RetryAttemptsExhausted", 2)]


def test_partial_failures_are_ignored_unless_reported_batch_item_failures_is_on() -> None:
    rec = Recorder(partial={"101"})
    assert run(rec, records(3), policy(report=False))
    assert len(rec.calls) == 1
    assert rec.discarded == []


@pytest.mark.parametrize(
    "item", [{"itemIdentifier": ""}, {"itemIdentifier": None}, {"id": "100"}, {"itemIdentifier": "9"}]
)
def test_malformed_item_identifiers_fail_the_whole_batch(item: dict) -> None:
    with pytest.raises(FunctionError):
        first_failed({"batchItemFailures": [item]}, records(2), True)


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}, "ok"])
def test_empty_responses_are_complete_success(response: object) -> None:
    assert first_failed(response, records(2), True) is None


def test_records_older_than_the_maximum_age_are_given_up_before_invoking() -> None:
    old = records(2, start=100, arrival=NOW - 100)
    fresh = records(2, start=200, arrival=NOW)
    rec = Recorder()
    assert run(rec, old + fresh, policy(age=60))
    assert rec.calls == [["200", "201"]]
    assert rec.discarded == [(["100", "101"], "RecordAgeExceeded", 0)]


def test_infinite_retries_stop_when_the_runtime_stops() -> None:
    rec = Recorder(poison={"100"})
    stop = threading.Event()
    calls = 0

    def invoke(batch: Sequence[StreamRecord]) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            stop.set()
        raise RuntimeError("always")

    assert not deliver(records(1), invoke, policy(retries=-1), rec.discard, stop, now=lambda: NOW)
    assert rec.discarded == []


def test_chunks_respect_the_batch_size() -> None:
    assert [len(c) for c in chunks(records(7), 3)] == [3, 3, 1]


def test_on_failure_record_has_the_aws_shape(tmp_path) -> None:
    dest = OnFailureDestination(tmp_path, "Aggregator", "us-east-1", "kinesis", "arn:aws:kinesis:s", "shardId-1")
    dest(records(3), "RetryAttemptsExhausted", 11, "RuntimeError: boom")
    (path,) = tmp_path.glob("*.json")
    doc = json.loads(path.read_text())
    assert doc["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert doc["requestContext"]["approximateInvokeCount"] == 11
    assert doc["requestContext"]["functionArn"].endswith(":function:Aggregator")
    assert doc["responseContext"]["functionError"] == "Unhandled"
    assert doc["version"] == "1.0"
    info = doc["KinesisBatchInfo"]
    assert (info["shardId"], info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == (
        "shardId-1", "100", "102", 3,
    )  # fmt: skip
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    ddb = OnFailureDestination(tmp_path, "FinalResults", "us-east-1", "dynamodb", "arn:ddb", "shard-x")
    assert "DDBStreamBatchInfo" in ddb.record(records(1), "RecordAgeExceeded", 0, None)
