"""What a shard poller does with the records it read, for the two kinds of mapping.

* ``LaneInvoker`` (no window): records are split into ParallelizationFactor in-order lanes by the
  hash of their partition key, each lane delivers its batches in order, lanes run concurrently;
  the shard is checkpointed at the last record once every lane is done.
* ``WindowInvoker`` (TumblingWindowInSeconds): records are grouped by the window of their arrival
  time (``alleycat.domain.windows``); each batch is invoked with the window's ``state`` and the
  returned state is kept; when a record of a later window shows up, or the window's end has passed
  and the shard was read after it, a final invoke with no records and ``isFinalInvokeForWindow``
  closes the window, retried until it succeeds. The shard is checkpointed only after a final
  invoke, so a restart delivers the in-flight window again. A state over 1 MB ends the window
  early (``isWindowTerminatedEarly``) and the window goes on with a fresh state.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import msgspec

from alleycat.domain.windows import MAX_STATE_BYTES, iso_utc, window_bounds
from infra.local.esm.delivery import Discard, FunctionError, Policy, chunks, deliver
from infra.local.esm.metrics import ShardMetrics
from infra.local.esm.shapes import StreamRecord

log = logging.getLogger("alleycat.esm")

Invoke = Callable[[dict[str, Any]], Any]
Checkpoint = Callable[[str], None]


def lane_of(partition_key: str, lanes: int) -> int:
    return int.from_bytes(hashlib.md5(partition_key.encode(), usedforsecurity=False).digest()[:8], "big") % lanes


class LaneInvoker:
    def __init__(
        self,
        invoke: Invoke,
        batch_size: int,
        lanes: int,
        policy: Policy,
        discard: Discard,
        checkpoint: Checkpoint,
        stop: threading.Event,
        metrics: ShardMetrics | None = None,
    ) -> None:
        self.invoke = invoke
        self.batch_size = batch_size
        self.lanes = lanes
        self.policy = policy
        self.discard = discard
        self.checkpoint = checkpoint
        self.stop = stop
        self.metrics = metrics
        self.pool = ThreadPoolExecutor(lanes, thread_name_prefix="lane") if lanes > 1 else None

    def _run_lane(self, records: Sequence[StreamRecord]) -> bool:
        for batch in chunks(records, self.batch_size):
            if not deliver(
                batch,
                lambda b: self.invoke({"Records": [r.event for r in b]}),
                self.policy,
                self.discard,
                self.stop,
                metrics=self.metrics,
            ):
                return False
        return True

    def process(self, records: Sequence[StreamRecord]) -> bool:
        """Deliver ``records`` (in shard order); checkpoint after them. False if stopped first."""
        if not records:
            return True
        if self.pool is None:
            done = self._run_lane(records)
        else:
            lanes: list[list[StreamRecord]] = [[] for _ in range(self.lanes)]
            for rec in records:
                lanes[lane_of(rec.partition_key, self.lanes)].append(rec)
            done = all(self.pool.map(self._run_lane, [lane for lane in lanes if lane]))
        if done:
            self.checkpoint(records[-1].sequence_number)
        return done

    def window_ended(self, read_started_s: float) -> bool:
        return False

    def close_if_due(self, read_started_s: float) -> bool:
        return True

    def close(self) -> bool:
        return True

    def shutdown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)


@dataclass
class OpenWindow:
    start: int
    end: int
    state: dict[str, Any] = field(default_factory=dict)
    last_sequence_number: str | None = None


class WindowInvoker:
    def __init__(
        self,
        invoke: Invoke,
        batch_size: int,
        window_s: int,
        shard_id: str,
        source_arn: str,
        policy: Policy,
        discard: Discard,
        checkpoint: Checkpoint,
        stop: threading.Event,
        metrics: ShardMetrics | None = None,
    ) -> None:
        self.invoke = invoke
        self.batch_size = batch_size
        self.window_s = window_s
        self.shard_id = shard_id
        self.source_arn = source_arn
        self.policy = policy
        self.discard = discard
        self.checkpoint = checkpoint
        self.stop = stop
        self.metrics = metrics
        self.window: OpenWindow | None = None
        self.finals = 0

    def event(self, records: Sequence[StreamRecord], final: bool, early: bool) -> dict[str, Any]:
        assert self.window is not None
        return {
            "Records": [r.event for r in records],
            "shardId": self.shard_id,
            "eventSourceARN": self.source_arn,
            "window": {"start": iso_utc(self.window.start), "end": iso_utc(self.window.end)},
            "state": self.window.state,
            "isFinalInvokeForWindow": final,
            "isWindowTerminatedEarly": early,
        }

    def _invoke_batch(self, records: Sequence[StreamRecord]) -> Any:
        response = self.invoke(self.event(records, False, False))
        if not isinstance(response, dict) or not isinstance(response.get("state"), dict):
            raise FunctionError("a tumbling-window response must contain a state object")
        assert self.window is not None
        self.window.state = response["state"]
        return response

    def process(self, records: Sequence[StreamRecord]) -> bool:
        start = 0
        while start < len(records):
            bounds = window_bounds(records[start].arrival_s, self.window_s)
            end = start
            while end < len(records) and window_bounds(records[end].arrival_s, self.window_s) == bounds:
                end += 1
            if self.window is not None and (self.window.start, self.window.end) != bounds and not self.close():
                return False
            if self.window is None:
                self.window = OpenWindow(*bounds)
            for batch in chunks(records[start:end], self.batch_size):
                if not deliver(batch, self._invoke_batch, self.policy, self.discard, self.stop, metrics=self.metrics):
                    return False
                self.window.last_sequence_number = batch[-1].sequence_number
                size = len(msgspec.json.encode(self.window.state))  # bytes of UTF-8 JSON
                if size > MAX_STATE_BYTES:
                    log.warning("window state over 1 MB: ending it early", extra={"stateBytes": size})
                    if not self._final(early=True):
                        return False
            start = end
        return True

    def window_ended(self, read_started_s: float) -> bool:
        """Whether the open window ended before the last read of the shard started."""
        return self.window is not None and read_started_s >= self.window.end

    def close_if_due(self, read_started_s: float) -> bool:
        """Close the open window if it ended before the last read of the shard started."""
        if self.window_ended(read_started_s):
            return self.close()
        return True

    def close(self) -> bool:
        if self.window is None:
            return True
        if not self._final(early=False):
            return False
        self.window = None
        return True

    def shutdown(self) -> None:
        """Stop without a final invoke: the open window is delivered again after a restart."""

    def _final(self, early: bool) -> bool:
        """The final invoke, retried until it succeeds (Lambda suspends the shard meanwhile)."""
        assert self.window is not None
        attempt = 0
        while True:
            try:
                self.invoke(self.event([], True, early))
                break
            except Exception as exc:
                attempt += 1
                log.warning("final invoke failed", extra={"error": f"{type(exc).__name__}: {exc}", "attempt": attempt})
                if self.stop.wait(self.policy.backoff(attempt)):
                    return False
        self.finals += 1
        if self.window.last_sequence_number is not None:
            self.checkpoint(self.window.last_sequence_number)
        self.window.state = {}
        return True
