"""The shard poller's reads: a full page each, the next one read while the last is processed."""

from __future__ import annotations

import threading

from infra.local.esm.runtime import ReadAhead
from infra.local.esm.shapes import StreamRecord
from infra.local.esm.sources import Read, Shard


class PagedSource:
    """A shard whose pages are named by their iterator; ``read`` of ``gate`` waits until it opens."""

    kind = "kinesis"
    arn = "arn:aws:kinesis:eu-west-1:000000000000:stream/test"
    max_records = 10_000

    def __init__(self, gate: str | None = None) -> None:
        self.reads: list[tuple[str, int]] = []
        self.gate = gate
        self.opened = threading.Event()
        self.waited_open = False

    def shards(self) -> list[Shard]:
        return [Shard("shardId-000000000000", ())]

    def iterator(self, shard_id: str, position: str, after: str | None, timestamp: float | None) -> str:
        return "it-0"

    def read(self, shard_id: str, iterator: str, limit: int) -> Read:
        self.reads.append((iterator, limit))
        if iterator == self.gate:
            self.waited_open = self.opened.wait(5.0)
        n = int(iterator.removeprefix("it-"))
        return Read([StreamRecord(str(n), 0.0, "key", {"n": n}, 1)], f"it-{n + 1}", 1000)

    def is_expired(self, exc: Exception) -> bool:
        return False

    def is_throttled(self, exc: Exception) -> bool:
        return False


def test_the_next_page_is_read_while_the_caller_goes_on() -> None:
    source = PagedSource(gate="it-1")
    reader = ReadAhead(source, "shardId-000000000000")
    try:
        reader.start("it-1")  # returns at once: the read waits for the gate in the reader's thread
        source.opened.set()  # the caller's processing of the page before, meanwhile
        _, read = reader.read("it-1")
    finally:
        reader.close()
    assert source.waited_open
    assert read.next_iterator == "it-2"
    assert source.reads == [("it-1", 10_000)]  # read once, a full page (GetRecords' most), not BatchSize


def test_a_page_read_ahead_for_another_iterator_is_not_used() -> None:
    """After an expired iterator is replaced, the page read ahead of the old one is dropped."""
    source = PagedSource()
    reader = ReadAhead(source, "shardId-000000000000")
    try:
        reader.start("it-1")
        _, read = reader.read("it-5")
        _, again = reader.read("it-1")  # nothing ahead any more: read now
    finally:
        reader.close()
    assert read.next_iterator == "it-6"
    assert again.next_iterator == "it-2"
    assert [it for it, _ in source.reads] == ["it-1", "it-5", "it-1"]
