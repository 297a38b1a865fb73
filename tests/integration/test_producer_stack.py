"""The producer against the real local stack: everything put is read back, in order, across a restart."""

from __future__ import annotations

import pytest

from alleycat.adapters import aws
from alleycat.domain.events import parse_event
from alleycat.settings import Settings
from infra.local import stack as local_stack
from producers.kinesis import KinesisSink
from producers.readback import latest_iterators, read_stream
from producers.run import run_simulation
from producers.simulator import SimConfig
from producers.sinks import DeadLetterFile

pytestmark = pytest.mark.stack

START = 1_704_067_200_000


def test_every_record_put_is_read_back_in_shard_order_and_survives_a_restart(stack: Settings) -> None:
    kinesis = aws.client("kinesis")
    before = latest_iterators(kinesis, stack.stream)
    config = SimConfig(start_ms=START, seed=11, classes=(1, 2, 3), racers=40, race_seconds=25)
    sink = KinesisSink(stack.stream, kinesis, DeadLetterFile(stack.dead_letter_dir), buffer_ms=200)
    summary = run_simulation(config, sink=sink, speed=0, strategy="racer")
    sink.close()
    n = 3 * 40 * 25
    assert summary.records == n and sink.stats.sent == n and sink.stats.failed == 0

    shards = read_stream(kinesis, stack.stream, before)
    assert len(shards) == stack.shards
    assert sum(len(records) for records in shards.values()) == n
    assert sum(1 for records in shards.values() if records) > 1  # racer keys spread over shards
    for records in shards.values():
        events = [parse_event(r.data) for r in records]
        assert [int(r.sequence_number) for r in records] == sorted(int(r.sequence_number) for r in records)
        for racer in {ev.racer_id for ev in events}:  # a racer's seconds arrive in the order sent
            assert [ev.second for ev in events if ev.racer_id == racer] == list(range(1, 26))
        assert all(r.partition_key == str(ev.racer_id) for r, ev in zip(records, events, strict=True))
    uuids = {parse_event(r.data).uuid for records in shards.values() for r in records}
    assert len(uuids) == n

    everything = read_stream(kinesis, stack.stream)
    local_stack.down(stack)
    local_stack.up(stack)
    aws.forget_clients()
    after = read_stream(aws.client("kinesis"), stack.stream)
    assert after == everything
