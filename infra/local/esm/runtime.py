"""The local event source mapping runtime: a poller thread per shard per mapping (with the Kafka
transport, the Aggregator's mapping reads the topic instead: ``infra.local.esm.kafka``).

Each ``ShardPoller`` resumes from its checkpoint (or the mapping's StartingPosition), reads the
shard, gathers records until BatchSize or MaximumBatchingWindowInSeconds, hands them to its
invoker (``invokers``), and marks the shard finished when a closed shard is drained. A
``MappingRunner`` discovers shards every few seconds and starts a child shard only when its parents
are finished (or trimmed away). ``run`` starts the mappings and stops them on request: the
in-flight batch is finished and checkpointed, then the threads exit.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alleycat.resources import KAFKA_AGGREGATOR, MAPPINGS, MappingDef
from alleycat.settings import Settings
from alleycat.support.files import atomic_write_text
from infra.local.esm.checkpoints import Checkpoint, CheckpointStore
from infra.local.esm.delivery import OnFailureDestination, Policy
from infra.local.esm.function import Function
from infra.local.esm.invokers import LaneInvoker, WindowInvoker
from infra.local.esm.kafka import KafkaMappingRunner
from infra.local.esm.metrics import MetricsFile, ShardMetrics
from infra.local.esm.shapes import StreamRecord
from infra.local.esm.sources import Read, Shard, Source, ready_shards, source_for

log = logging.getLogger("alleycat.esm")

IDLE_S = 0.25  # wait between reads of an idle shard
THROTTLED_S = 0.5  # wait after a read the shard's quota refused (Lambda backs off too)
DISCOVERY_S = 2.0  # how often the shard list is refreshed
HEARTBEAT = "heartbeat"


class InvalidMapping(ValueError):
    """A mapping definition AWS would reject (InvalidParameterValueException)."""


def validate(mapping: MappingDef) -> None:
    if mapping.tumbling_window_s is not None and mapping.parallelization_factor > 1:
        raise InvalidMapping(f"{mapping.name}: TumblingWindowInSeconds requires ParallelizationFactor 1")
    if not 1 <= mapping.parallelization_factor <= 10:
        raise InvalidMapping(f"{mapping.name}: ParallelizationFactor must be 1..10")
    if mapping.source == "dynamodb" and mapping.starting_position == "AT_TIMESTAMP":
        raise InvalidMapping(f"{mapping.name}: DynamoDB Streams support TRIM_HORIZON or LATEST only")
    if not 1 <= mapping.batch_size <= 10_000:
        raise InvalidMapping(f"{mapping.name}: BatchSize must be 1..10000")


def policy_of(mapping: MappingDef) -> Policy:
    return Policy(
        maximum_retry_attempts=mapping.maximum_retry_attempts,
        maximum_record_age_s=mapping.maximum_record_age_s,
        bisect_on_error=mapping.bisect_on_error,
        report_batch_item_failures=mapping.report_batch_item_failures,
    )


class ReadAhead:
    """A shard's reads, each of a full page (GetRecords' most: 10,000 records for Kinesis, 1,000 for
    DynamoDB Streams; the batches are cut from it, BatchSize each), one page ahead while the shard
    is behind: the next GetRecords runs while the page just read is processed. Lambda's pollers
    read apart from its invokers too; the function sees the same batches in the same order, and a
    page read ahead but not processed (a stop) is read again from the checkpoint."""

    def __init__(self, source: Source, shard_id: str) -> None:
        self.source = source
        self.shard_id = shard_id
        self.page = source.max_records
        self.pool = ThreadPoolExecutor(1, thread_name_prefix=f"read:{shard_id}")
        self.ahead: tuple[str, float, Future[Read]] | None = None

    def start(self, iterator: str) -> None:
        """Start reading ``iterator``'s page now."""
        self.ahead = (iterator, time.time(), self.pool.submit(self.source.read, self.shard_id, iterator, self.page))

    def read(self, iterator: str) -> tuple[float, Read]:
        """When the read of ``iterator`` started, and its page: the one read ahead if it was this iterator's."""
        ahead, self.ahead = self.ahead, None
        if ahead is not None and ahead[0] == iterator:
            return ahead[1], ahead[2].result()
        started = time.time()
        return started, self.source.read(self.shard_id, iterator, self.page)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class ShardPoller(threading.Thread):
    def __init__(
        self,
        mapping: MappingDef,
        settings: Settings,
        source: Source,
        function: Function,
        shard: Shard,
        position: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(name=f"{mapping.name}:{shard.shard_id}", daemon=True)
        self.mapping = mapping
        self.source = source
        self.shard = shard
        self.position = position
        self.stop = stop
        self.checkpoints = CheckpointStore(settings.home, mapping.name)
        self.finished = False
        destination = OnFailureDestination(
            settings.dead_letter_dir / f"esm-{mapping.name}",
            mapping.name,
            settings.region,
            mapping.source,
            source.arn,
            shard.shard_id,
        )
        self.metrics = ShardMetrics(mapping.name, shard.shard_id)
        self.metrics_file = MetricsFile(settings.home, self.metrics)
        self.function = function
        self.destination = destination
        save = self._checkpoint
        invoke, discard = self._invoke, self._discard
        if mapping.tumbling_window_s:
            self.invoker: LaneInvoker | WindowInvoker = WindowInvoker(
                invoke, mapping.batch_size, mapping.tumbling_window_s, shard.shard_id, source.arn,
                policy_of(mapping), discard, save, stop, self.metrics,
            )  # fmt: skip
        else:
            self.invoker = LaneInvoker(
                invoke, mapping.batch_size, mapping.parallelization_factor, policy_of(mapping), discard, save,
                stop, self.metrics,
            )  # fmt: skip

    def _invoke(self, event: dict[str, Any]) -> Any:
        self.metrics.add(invoked=1)
        return self.function(event)

    def _discard(self, batch: Sequence[StreamRecord], condition: str, attempts: int, error: str | None) -> None:
        self.destination(batch, condition, attempts, error)
        self.metrics.add(dead_lettered=len(batch))

    def _checkpoint(self, sequence_number: str) -> None:
        self.checkpoints.advance(self.shard.shard_id, sequence_number)
        self.metrics.checkpoint = sequence_number
        self.metrics.checkpoint_at = time.time()

    def run(self) -> None:
        try:
            self._run()
        except Exception:
            log.exception("shard poller failed", extra={"mapping": self.mapping.name, "shard": self.shard.shard_id})

    def _iterator(self, after: str | None, started_at: float) -> str:
        return self.source.iterator(self.shard.shard_id, self.position, after, started_at)

    def _run(self) -> None:
        shard_id = self.shard.shard_id
        cp = self.checkpoints.load(shard_id)
        self.metrics.checkpoint = cp.sequence_number if cp else None
        if cp is None:
            cp = Checkpoint(None, False, time.time())
            self.checkpoints.save(shard_id, cp)
        if cp.finished:
            self.finished = True
            return
        started_at = cp.started_at or time.time()
        read_after = cp.sequence_number  # the last record read (not necessarily processed)
        iterator = self._iterator(read_after, started_at)
        log.info("shard poller started", extra={"mapping": self.mapping.name, "shard": shard_id, "after": read_after})
        limit = self.mapping.batch_size * self.mapping.parallelization_factor
        reader = ReadAhead(self.source, shard_id)
        try:
            self._poll(reader, iterator, read_after, started_at, limit)
        finally:
            reader.close()
        self.invoker.shutdown()
        self.metrics_file.write(force=True)
        log.info("shard poller stopped", extra={"mapping": self.mapping.name, "shard": shard_id})

    def _poll(self, reader: ReadAhead, iterator: str, read_after: str | None, started_at: float, limit: int) -> None:
        shard_id = self.shard.shard_id
        buffer: list[StreamRecord] = []
        buffered_at = 0.0
        while not self.stop.is_set():
            try:
                read_started, read = reader.read(iterator)
            except Exception as exc:
                if self.source.is_throttled(exc):
                    self.metrics.add(throttled=1)
                    self.metrics_file.write()
                    self.stop.wait(THROTTLED_S)
                    continue
                if not self.source.is_expired(exc):
                    raise
                iterator = self._iterator(read_after, started_at)
                continue
            self.metrics.behind_ms = read.behind_ms
            self.metrics.add(polled=len(read.records))
            if read.records:
                if not buffer:
                    buffered_at = time.monotonic()
                buffer.extend(read.records)
                read_after = read.records[-1].sequence_number
            closed = read.next_iterator is None  # the shard is closed and read to its end
            # a window ends on time only once the shard is read to its tip: while catching up, the
            # next window's first record closes it
            at_tip = read.behind_ms == 0 and len(read.records) < reader.page
            if not at_tip and read.next_iterator is not None:
                reader.start(read.next_iterator)  # catching up: the next page is read while this one is processed
            due = bool(buffer) and (
                len(buffer) >= limit
                or time.monotonic() - buffered_at >= self.mapping.max_batching_window_s
                or closed
                or (at_tip and self.invoker.window_ended(read_started))
            )
            if due:
                self.metrics.iterator_age_ms = max(0, int((time.time() - buffer[-1].arrival_s) * 1000))
                if not self.invoker.process(buffer):
                    break
                buffer = []
            self.metrics_file.write()
            if at_tip and not buffer and not self.invoker.close_if_due(read_started):
                break
            if read.next_iterator is None:
                if not buffer and self.invoker.close():
                    self.checkpoints.finish(shard_id)
                    self.finished = True
                    log.info("shard drained", extra={"mapping": self.mapping.name, "shard": shard_id})
                break
            iterator = read.next_iterator
            if not read.records and read.behind_ms == 0:
                self.stop.wait(IDLE_S)


class MappingRunner(threading.Thread):
    """One mapping: discovers shards and runs a poller per shard, parents before children."""

    def __init__(self, mapping: MappingDef, settings: Settings, stop: threading.Event) -> None:
        validate(mapping)
        super().__init__(name=f"mapping:{mapping.name}", daemon=True)
        self.mapping = mapping
        self.settings = settings
        self.stop = stop
        self.pollers: dict[str, ShardPoller] = {}
        self.function = Function(mapping, settings.region)
        self.checkpoints = CheckpointStore(settings.home, mapping.name)

    def run(self) -> None:
        source: Source | None = None
        while not self.stop.is_set():
            try:
                source = source or source_for(self.mapping, self.settings)
                self._discover(source)
            except Exception as exc:
                log.warning("shard discovery failed", extra={"mapping": self.mapping.name, "error": str(exc)})
            self.stop.wait(DISCOVERY_S)
        for poller in self.pollers.values():
            poller.join()

    def _finished(self, shard_id: str) -> bool:
        poller = self.pollers.get(shard_id)
        if poller is not None:
            return poller.finished
        cp = self.checkpoints.load(shard_id)
        return cp is not None and cp.finished

    def _discover(self, source: Source) -> None:
        shards = source.shards()
        listed = {s.shard_id for s in shards}
        for shard in ready_shards(shards, self._finished):
            poller = self.pollers.get(shard.shard_id)
            if poller is not None and poller.is_alive():
                continue
            # a child of a shard we read starts at its beginning, as Lambda does
            position = "TRIM_HORIZON" if any(p in listed for p in shard.parent_ids) else self.mapping.starting_position
            poller = ShardPoller(self.mapping, self.settings, source, self.function, shard, position, self.stop)
            self.pollers[shard.shard_id] = poller
            poller.start()


def run(settings: Settings, names: Sequence[str] = (), stop: threading.Event | None = None) -> None:
    """Run the mappings (all, or those named) until ``stop`` is set."""
    stop = stop or threading.Event()
    unknown = set(names) - {m.name for m in MAPPINGS}
    if unknown:
        raise InvalidMapping(f"unknown mapping(s): {', '.join(sorted(unknown))}")
    runners: list[MappingRunner | KafkaMappingRunner] = []
    for m in MAPPINGS:
        if names and m.name not in names:
            continue
        if settings.transport == "kafka" and m.name == KAFKA_AGGREGATOR.name:
            # the Aggregator reads the Kafka topic instead of the Kinesis stream
            runners.append(KafkaMappingRunner(KAFKA_AGGREGATOR, settings, stop))
        else:
            runners.append(MappingRunner(m, settings, stop))
    for runner in runners:
        runner.start()
    log.info("consumer started", extra={"mappings": [r.mapping.name for r in runners], "home": str(settings.home)})
    beat = heartbeat_path(settings.home)
    beat.parent.mkdir(parents=True, exist_ok=True)
    while not stop.is_set():
        atomic_write_text(beat, str(os.getpid()))  # its pid: a beat left by a killed consumer is not ours
        stop.wait(1.0)
    for runner in runners:
        runner.join()
    log.info("consumer stopped")


def heartbeat_path(home: Path) -> Path:
    return home / "esm" / HEARTBEAT
