"""Fault injection, to test the pipeline: duplicates, late delivery and malformed records.

Faults never change the true scores: a duplicate is the same bytes again (same uuid), a late record
is the original delivered out of order, and a malformed record is sent next to its original. Every
malformed record is one line (no newline byte), so a ``--out`` file stays one record per line, and
every one is rejected by ``parse_event``. Decisions come from their own seeded RNG.
"""

from __future__ import annotations

import heapq
import json
import random
from dataclasses import dataclass, field

from alleycat.domain.events import FIELDS, MAX_PAYLOAD_BYTES, Telemetry
from producers.sinks import Record

LATE_DELAY_S = (2, 180)  # seconds to minutes
MALFORMED_KINDS = (
    "truncated",
    "not_an_object",
    "wrong_type",
    "bool_as_int",
    "missing_field",
    "unknown_event",
    "not_finite",
    "out_of_range",
    "bad_uuid",
    "not_utf8",
    "oversize",
)


@dataclass(frozen=True, slots=True)
class FaultRates:
    duplicate: float = 0.0
    late: float = 0.0
    malformed: float = 0.0

    @property
    def any(self) -> bool:
        return bool(self.duplicate or self.late or self.malformed)


@dataclass(slots=True)
class FaultCounts:
    duplicates: int = 0
    late: int = 0
    malformed: int = 0


def malform(event: Telemetry, kind: str, rng: random.Random) -> bytes:
    """A broken version of ``event``'s record, on one line."""
    doc = event.to_dict()
    if kind == "truncated":
        data = event.to_json()
        return data[: rng.randrange(1, len(data) - 1)]
    if kind == "not_an_object":
        return json.dumps([doc["uuid"], doc["cadence"]]).encode()
    if kind == "wrong_type":
        field_name = rng.choice(("cadence", "racerId", "second", "name"))
        doc[field_name] = str(doc[field_name]) if field_name != "name" else 42
    elif kind == "bool_as_int":
        doc[rng.choice(("classId", "second", "racerId"))] = True
    elif kind == "missing_field":
        del doc[rng.choice(FIELDS)]
    elif kind == "unknown_event":
        doc["event"] = "start"
    elif kind == "not_finite":
        doc[rng.choice(("cadence", "resistance"))] = rng.choice((float("nan"), float("inf")))
    elif kind == "out_of_range":
        doc[rng.choice(("resistance", "classId"))] = 150
    elif kind == "bad_uuid":
        doc["uuid"] = doc["uuid"].replace("-", "")
    elif kind == "not_utf8":
        return event.to_json().replace(b'"name":"', b'"name":"\xff\xfe', 1)
    elif kind == "oversize":
        doc["name"] = doc["name"] * (MAX_PAYLOAD_BYTES // len(doc["name"]) + 1)
    return json.dumps(doc, separators=(",", ":")).encode()


@dataclass
class FaultInjector:
    rates: FaultRates
    rng: random.Random
    counts: FaultCounts = field(default_factory=FaultCounts)
    _held: list[tuple[int, int, Record]] = field(default_factory=list)  # (due tick, order, record)
    _order: int = 0

    def apply(self, tick: int, events: list[Telemetry], records: list[Record]) -> list[Record]:
        """The records to send at ``tick``: late ones now due first, then this tick's."""
        out = self.release(tick)
        for event, record in zip(events, records, strict=True):
            copies = 2 if self.rng.random() < self.rates.duplicate else 1
            self.counts.duplicates += copies - 1
            if self.rng.random() < self.rates.late:
                self.counts.late += 1
                due = tick + self.rng.randint(*LATE_DELAY_S)
                for _ in range(copies):
                    heapq.heappush(self._held, (due, self._order, record))
                    self._order += 1
            else:
                out.extend([record] * copies)
            if self.rng.random() < self.rates.malformed:
                self.counts.malformed += 1
                data = malform(event, self.rng.choice(MALFORMED_KINDS), self.rng)
                out.append(Record(data, record.partition_key))
        return out

    def release(self, tick: int | None = None) -> list[Record]:
        """Held records due by ``tick`` (all of them when None), in due order."""
        out = []
        while self._held and (tick is None or self._held[0][0] <= tick):
            out.append(heapq.heappop(self._held)[2])
        return out
