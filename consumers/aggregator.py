"""Aggregator: Kinesis telemetry -> the LIVE item of each race, once per tumbling window.

A race is ``(raceId, classId)`` (``RaceKey``): all six classes race in every 300 s slot and share
the raceId, so the window state, the LIVE item and its CLASS race item are all per race-class.

Every invocation decodes and validates its records (invalid ones are logged with their reason and
kept in the dead letter, never failing the batch) and merges them into the window's ``state``:
per race, per racer, the window's winning point of every second (``Telemetry.beats``), the name
and whether the ``final`` message was seen. The final invoke of the window (or an invocation
without a window) merges each touched race into its LIVE item: ``RacerScore.add`` skips seconds
already counted, so replaying a batch or a window changes nothing, and an unchanged race is not
written. The write is a PutItem conditional on ``version`` (optimistic locking: on a conflict,
read again and merge again): one write per race per window. Before a race's first LIVE write its
CLASS race item (``CLASS#c / RACE#r``, status ``live``) is put, conditional on its absence.

Caveat: LIVE keeps the first-counted value of a second (its bitmap holds no values). Two different
messages for one key that land in different windows are resolved by the lake, which is
authoritative; within a window the winning rule decides.

State (JSON): ``{"races": {"<raceId>#<classId>": {"r": {racerId: {"n": name, "f": final,
"p": {second: [milli, deviceTimestamp, uuid]}}}}}}``.
"""

from __future__ import annotations

import base64
import logging
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from alleycat.domain.events import InvalidEvent, RaceKey, parse_event
from alleycat.domain.scoring import RaceScores
from alleycat.domain.windows import iso_utc
from consumers import dynamo
from consumers.deadletter import Rejected, dead_letter

log = logging.getLogger("alleycat.consumers.aggregator")

MAX_CONFLICT_RETRIES = 20
State = dict[str, Any]


def state_key(race: RaceKey) -> str:
    """A race's key in the window state (JSON object keys are strings)."""
    return f"{race.race_id}#{race.class_id}"


def race_of(key: str) -> RaceKey:
    race_id, class_id = key.split("#")
    return RaceKey(int(race_id), int(class_id))


@dataclass(frozen=True)
class MergeResult:
    valid: int
    rejected: list[Rejected]


def merge_records(state: State, records: list[dict[str, Any]]) -> MergeResult:
    """Decode, validate and merge Kinesis records into ``state`` (in place)."""
    races: dict[str, Any] = state.setdefault("races", {})
    rejected: list[Rejected] = []
    valid = 0
    for record in records:
        kinesis = record["kinesis"]
        try:
            try:
                payload = base64.b64decode(kinesis["data"], validate=True)
            except ValueError as exc:
                raise InvalidEvent("bad_base64", str(exc)) from None
            ev = parse_event(payload)
        except InvalidEvent as exc:
            rejected.append(
                Rejected(
                    exc.reason,
                    exc.detail,
                    record.get("eventID", kinesis.get("sequenceNumber", "")),
                    kinesis.get("partitionKey", ""),
                    float(kinesis.get("approximateArrivalTimestamp", 0)),
                    kinesis["data"],
                )
            )
            continue
        valid += 1
        key = state_key(ev.race)
        race = races.get(key)
        if race is None:
            race = races[key] = {"r": {}}
        racer = race["r"].get(str(ev.racer_id))
        if racer is None:
            racer = race["r"][str(ev.racer_id)] = {"n": ev.name, "f": False, "p": {}}
        racer["f"] = racer["f"] or ev.is_final
        second = str(ev.second)
        current = racer["p"].get(second)
        if current is None or ev.beats_precedence(current[1:]):
            racer["p"][second] = [ev.output_milli, ev.device_timestamp, ev.uuid]
    return MergeResult(valid, rejected)


def apply_window(live: dynamo.LiveRace, window_race: dict[str, Any]) -> bool:
    """Merge one race's window points into its scores. Returns True if anything changed."""
    changed = False
    for racer_id, doc in window_race["r"].items():
        score = live.race.racer(int(racer_id), doc["n"], live.race.class_id)
        was_finished = score.finished
        for second, point in doc["p"].items():
            changed |= score.add(int(second), int(point[0]))
        score.finished = was_finished or bool(doc["f"])
        changed |= score.finished != was_finished
    return changed


def flush_race(race: RaceKey, window_race: dict[str, Any], window_end: str) -> int:
    """Merge a race's window into its LIVE item. Returns the number of LIVE writes (0 or 1)."""
    race_id, class_id = race
    for _ in range(MAX_CONFLICT_RETRIES):
        live = dynamo.read_live(race_id, class_id)
        expected = None if live is None else live.version
        if live is None:
            live = dynamo.LiveRace(RaceScores(race_id, class_id), 0, None, dynamo.now_ms())
            # first sight of the race: its CLASS race item before its first LIVE write, so a
            # race with a LIVE item always has one (a repeated put is a no-op)
            dynamo.put_class_race(race_id, class_id, live.updated_at)
        if not apply_window(live, window_race):
            return 0
        live.version += 1
        live.window_end = window_end
        live.updated_at = dynamo.now_ms()
        if dynamo.put_live(live, expected):
            return 1
        log.info("LIVE version conflict, merging again", extra={"raceId": race_id, "classId": class_id})
    raise RuntimeError(
        f"race {race_id} class {class_id}: LIVE item still conflicting after {MAX_CONFLICT_RETRIES} attempts"
    )


def flush(state: State, window_end: str) -> int:
    """Merge every race of a window into its LIVE item. Returns the number of LIVE writes."""
    return sum(flush_race(race_of(key), race, window_end) for key, race in state.get("races", {}).items())


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    state: State = event.get("state") or {}
    result = merge_records(state, records)
    if result.rejected:
        where = dead_letter().put("aggregator", result.rejected)
        log.warning(
            "invalid records",
            extra={
                "rejected": len(result.rejected),
                "reasons": dict(Counter(r.reason for r in result.rejected)),
                "deadLetter": where,
                "requestId": getattr(context, "aws_request_id", None),
            },
        )
    windowed = "window" in event
    if windowed and not event.get("isFinalInvokeForWindow"):
        return {"state": state, "batchItemFailures": []}
    window_end = event["window"]["end"] if windowed else iso_utc(time.time())
    writes = flush(state, window_end)
    log.info(
        "window flushed",
        extra={"races": len(state.get("races", {})), "liveWrites": writes, "windowEnd": window_end},
    )
    return {"state": {}, "batchItemFailures": []} if windowed else {"batchItemFailures": []}
