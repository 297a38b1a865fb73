"""Aggregator: Kinesis or Kafka telemetry -> the LIVE item of each race, once per window or batch.

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

Lambda's event comes in as Powertools' ``KinesisStreamEvent`` (its tumbling-window fields:
``window``, ``state``, ``isFinalInvokeForWindow``); ``handle(event, deps)`` does the work with
the race table and the dead letter it is given, and ``handler`` is the Lambda entry point that
builds them once per process.

Caveat: LIVE keeps the first-counted value of a second (its bitmap holds no values). Two different
messages for one key that land in different windows are resolved by the lake, which is
authoritative; within a window the winning rule decides.

State (JSON): ``{"races": {"<raceId>#<classId>": {"r": {racerId: {"n": name, "f": final,
"p": {second: "<deviceTimestamp><uuid><milli>"}}}}}}``. A point is one string, not a list of
three: the state goes through JSON on every invocation (Lambda's contract), and a window's state
of up to 1 MB decoded into a list, two ints and a string per point was the largest single cost of
a backlog drain (docs/design.md, "Real-time throughput"). The string starts with the point's
precedence, ``(deviceTimestamp, uuid)``, as text that sorts as the tuple does (``RANK_CHARS``).

Records arrive as Powertools' ``KinesisStreamEvent`` (which carries the tumbling-window fields)
or, from an Amazon MSK or self-managed Kafka mapping, as its ``KafkaEvent`` (records grouped by
``"topic-partition"``, base64 values); the LIVE items are read and written through the injected
``RaceTable``.

Kafka mappings have no tumbling windows: each invocation is its own window. Its batch is merged
into a fresh state and flushed at once, one conditional write per race per batch (docs/design.md,
"Kafka transport"); a batch delivered again (a restart before the offsets were committed) changes
nothing, because ``RacerScore.add`` skips the seconds LIVE's bitmap already holds.
"""

from __future__ import annotations

import binascii
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes.kafka_event import KafkaEvent, KafkaEventRecord
from aws_lambda_powertools.utilities.data_classes.kinesis_stream_event import KinesisStreamEvent, KinesisStreamRecord

from alleycat.adapters.dead_letter import DeadLetter, Rejected, dead_letter_for
from alleycat.adapters.race_items import LiveRace
from alleycat.adapters.race_table import DynamoRaceTable, RaceTable, RaceTableError
from alleycat.domain.events import TIMESTAMP_RANGE, UUID_CHARS, InvalidEvent, RaceKey, Telemetry, parse_events
from alleycat.domain.scoring import RaceScores
from alleycat.domain.windows import iso_utc
from alleycat.settings import Settings
from alleycat.support.clock import Clock, SystemClock
from consumers.observability import Handled, Observability

OBSERVABILITY = Observability("aggregator")
log = OBSERVABILITY.logger

MAX_CONFLICT_RETRIES = 20
DEAD_LETTER_SOURCE = "aggregator"
KAFKA_EVENT_SOURCES = ("aws:kafka", "SelfManagedKafka")  # Amazon MSK, and any other Kafka
State = dict[str, Any]
# a point's deviceTimestamp zero-padded to the 13 digits of TIMESTAMP_RANGE's end, then its uuid
# (UUID_CHARS): the first RANK_CHARS of two points' strings compare as their (deviceTimestamp, uuid)
TIMESTAMP_DIGITS = len(str(TIMESTAMP_RANGE[1]))
RANK_CHARS = TIMESTAMP_DIGITS + UUID_CHARS
PADDED_BELOW = 10 ** (TIMESTAMP_DIGITS - 1)  # the smallest deviceTimestamp that needs no padding


@dataclass(frozen=True)
class Dependencies:
    """What the Aggregator works with; the entry point builds them once per process."""

    table: RaceTable
    dead_letter: DeadLetter
    clock: Clock = field(default_factory=SystemClock)


@cache
def dependencies() -> Dependencies:
    settings = Settings.from_env()
    return Dependencies(DynamoRaceTable.from_settings(settings), dead_letter_for(settings))


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


def _rejected(raw: dict[str, Any], exc: InvalidEvent) -> Rejected:
    # the record's metadata with .get: a replayed or hand-made record may carry only its data
    record = KinesisStreamRecord(raw)
    kinesis = record.kinesis
    return Rejected(
        exc.reason,
        exc.detail,
        str(record.get("eventID", kinesis.get("sequenceNumber", ""))),
        str(kinesis.get("partitionKey", "")),
        float(kinesis.get("approximateArrivalTimestamp") or 0),
        kinesis.data,
    )


def _kafka_rejected(record: KafkaEventRecord, exc: InvalidEvent) -> Rejected:
    """A Kafka record's place (``topic-partition@offset``), key and timestamp, as the dead letter keeps them."""
    key = record.get("key")
    try:
        partition_key = binascii.a2b_base64(key).decode(errors="replace") if key else ""
    except ValueError:
        partition_key = str(key)
    return Rejected(
        exc.reason,
        exc.detail,
        f"{record.get('topic', '')}-{record.get('partition', '')}@{record.get('offset', '')}",
        partition_key,
        float(record.get("timestamp") or 0) / 1000,
        str(record.get("value") or ""),
    )


def merge_records(state: State, records: Sequence[dict[str, Any]]) -> MergeResult:
    """Decode, validate and merge Kinesis records (the event's ``Records``, as Lambda passes them:
    Powertools' wrapper is built only for a record that is rejected) into ``state`` (in place)."""
    return _merge(state, records, [r["kinesis"]["data"] for r in records], _rejected)


def merge_kafka_records(state: State, records: Sequence[KafkaEventRecord]) -> MergeResult:
    """Decode, validate and merge Kafka records (their base64 ``value``; null for a tombstone,
    rejected as bad_base64) into ``state`` (in place)."""
    return _merge(state, records, [r["value"] for r in records], _kafka_rejected)


def decode_batch(datas: Sequence[Any]) -> list[Telemetry | InvalidEvent]:
    """Per record's base64 data, its event or why it can never count: the batch is validated at
    once (``parse_events``: one uuid regex for all), each answer in its record's place."""
    try:  # nearly always every record's data is base64: one comprehension
        payloads = [binascii.a2b_base64(data, strict_mode=True) for data in datas]
    except (ValueError, TypeError):  # binascii.Error, a str that is not ASCII, or no data
        return _decode_each(datas)
    return parse_events(payloads)


def _decode_each(datas: Sequence[Any]) -> list[Telemetry | InvalidEvent]:
    """``decode_batch`` of a batch with some data that is not base64: found record by record."""
    payloads: list[bytes] = []
    refused: dict[int, InvalidEvent] = {}
    for i, data in enumerate(datas):
        try:
            payloads.append(binascii.a2b_base64(data, strict_mode=True))
        except (ValueError, TypeError) as exc:  # binascii.Error, a str that is not ASCII, or no data
            refused[i] = InvalidEvent("bad_base64", str(exc))
    parsed = iter(parse_events(payloads))
    return [refused[i] if i in refused else next(parsed) for i in range(len(datas))]


def _merge(
    state: State,
    records: Sequence[Any],
    datas: list[Any],
    rejected_of: Callable[[Any, InvalidEvent], Rejected],
) -> MergeResult:
    """The hot loop of the real-time path (``datas``: each record's base64 payload): it reads the
    record's dict directly (not Powertools' per-access wrappers) and keeps each racer's points as
    ``second -> "<deviceTimestamp><uuid><milli>"``, so a replayed or duplicated point costs one dict
    lookup and one compare of the strings' first ``RANK_CHARS``."""
    races: dict[str, Any] = state.setdefault("races", {})
    rejected: list[Rejected] = []
    # A batch is mostly runs of one race's records (a producer sends a race's second together):
    # its racers are looked up again only when the race changes.
    race_id, class_id, racers = -1, -1, {}
    for record, ev in zip(records, decode_batch(datas), strict=True):
        if isinstance(ev, InvalidEvent):
            rejected.append(rejected_of(record, ev))
            continue
        if ev.race_id != race_id or ev.class_id != class_id:
            race_id, class_id = ev.race_id, ev.class_id
            key = f"{race_id}#{class_id}"  # state_key(ev.race), spelled out: the hot loop
            race = races.get(key)
            if race is None:
                race = races[key] = {"r": {}}
            racers = race["r"]
        racer_key = str(ev.racer_id)
        racer = racers.get(racer_key)
        if racer is None:
            racer = racers[racer_key] = {"n": ev.name, "f": False, "p": {}}
        if ev.event == "final":
            racer["f"] = True
        points = racer["p"]
        second = str(ev.second)
        current = points.get(second)
        # Telemetry.beats against the kept point's precedence (RANK_CHARS), spelled out: per record
        ts = ev.device_timestamp
        # padded only below 10^12 ms (before 2001-09-09): padding every record's would cost 5% here
        point = f"{ts}{ev.uuid}{ev.output_milli}" if ts >= PADDED_BELOW else _padded_point(ts, ev.uuid, ev.output_milli)
        if current is None or point[:RANK_CHARS] > current[:RANK_CHARS]:
            points[second] = point
    return MergeResult(len(records) - len(rejected), rejected)


def _padded_point(device_timestamp: int, uuid: str, milli: int) -> str:
    """A point as the window state keeps it, its timestamp zero-padded to ``TIMESTAMP_DIGITS``."""
    return f"{device_timestamp:0{TIMESTAMP_DIGITS}d}{uuid}{milli}"


def _points_as_text(state: State) -> State:
    """``state`` with its points as text. A window begun before a deploy that changed the points'
    form comes to the new code with the old form (``[milli, deviceTimestamp, uuid]``): converted
    once, here (one point is looked at when there is nothing to convert)."""
    racers = (racer for race in state.get("races", {}).values() for racer in race["r"].values())
    first = next((point for racer in racers for point in racer["p"].values()), None)
    if not isinstance(first, list):
        return state
    for race in state["races"].values():
        for racer in race["r"].values():
            racer["p"] = {s: _padded_point(ts, uuid, milli) for s, (milli, ts, uuid) in racer["p"].items()}
    return state


def apply_window(live: LiveRace, window_race: dict[str, Any]) -> bool:
    """Merge one race's window points into its scores. Returns True if anything changed."""
    changed = False
    race = live.race
    for racer_id, doc in window_race["r"].items():
        score = race.racer(int(racer_id), doc["n"], race.class_id)
        if score.add_points([(int(second), int(point[RANK_CHARS:])) for second, point in doc["p"].items()]):
            changed = True
        if doc["f"] and not score.finished:
            score.finished = changed = True
    return changed


def flush_race(
    table: RaceTable, race: RaceKey, window_race: dict[str, Any], window_end: str, clock: Clock | None = None
) -> int:
    """Merge a race's window into its LIVE item. Returns the number of LIVE writes (0 or 1)."""
    clock = clock or SystemClock()
    race_id, class_id = race
    for _ in range(MAX_CONFLICT_RETRIES):
        live = table.read_live(race_id, class_id)
        expected = None if live is None else live.version
        if live is None:
            live = LiveRace(RaceScores(race_id, class_id), 0, None, clock.now_ms())
            # first sight of the race: its CLASS race item before its first LIVE write, so a
            # race with a LIVE item always has one (a repeated put is a no-op)
            table.put_class_race(race_id, class_id, live.updated_at)
        if not apply_window(live, window_race):
            return 0
        live.version += 1
        live.window_end = window_end
        live.updated_at = clock.now_ms()
        if table.put_live(live, expected):
            return 1
        log.info("LIVE version conflict, merging again", extra={"raceId": race_id, "classId": class_id})
    raise RaceTableError(
        f"race {race_id} class {class_id}: LIVE item still conflicting after {MAX_CONFLICT_RETRIES} attempts"
    )


def flush(table: RaceTable, state: State, window_end: str, clock: Clock | None = None) -> int:
    """Merge every race of a window into its LIVE item. Returns the number of LIVE writes."""
    return sum(flush_race(table, race_of(key), race, window_end, clock) for key, race in state.get("races", {}).items())


def _dead_letter(result: MergeResult, deps: Dependencies) -> None:
    if result.rejected:
        where = deps.dead_letter.put(DEAD_LETTER_SOURCE, result.rejected)
        log.warning(
            "invalid records",
            extra={
                "rejected": len(result.rejected),
                "reasons": dict(Counter(r.reason for r in result.rejected)),
                "deadLetter": where,
            },
        )


def handle(event: KinesisStreamEvent, deps: Dependencies) -> Handled:
    """One invocation: merge the records into the window state; on the window's final invoke (or
    without a window) flush it to the LIVE items. The answer is Lambda's: the state to carry (a
    tumbling window) and no batch item failures (invalid records are dead-lettered, not failed)."""
    records = event.get("Records") or []
    state: State = _points_as_text(event.state)
    result = merge_records(state, records)
    _dead_letter(result, deps)
    counts = {"Records": len(records), "RejectedRecords": len(result.rejected)}
    window = event.window
    if window is not None and not event.is_final_invoke_for_window:
        return Handled({"state": state, "batchItemFailures": []}, counts)
    window_end = window.end if window is not None else iso_utc(deps.clock.now_ms() / 1000)
    writes = flush(deps.table, state, window_end, deps.clock)
    log.info(
        "window flushed",
        extra={"races": len(state.get("races", {})), "liveWrites": writes, "windowEnd": window_end},
    )
    response: dict[str, Any] = (
        {"state": {}, "batchItemFailures": []} if window is not None else {"batchItemFailures": []}
    )
    return Handled(response, {**counts, "LiveWrites": writes})


def handle_kafka(event: KafkaEvent, deps: Dependencies) -> Handled:
    """One invocation of a Kafka mapping: the batch is the window. Its records (every partition's)
    are merged into a fresh state and flushed to the LIVE items at once; the answer reports no
    batch item failures (invalid records are dead-lettered, not failed)."""
    records = list(event.records)
    state: State = {}
    result = merge_kafka_records(state, records)
    _dead_letter(result, deps)
    batch_end = iso_utc(deps.clock.now_ms() / 1000)
    writes = flush(deps.table, state, batch_end, deps.clock)
    log.info("batch flushed", extra={"races": len(state.get("races", {})), "liveWrites": writes})
    counts = {"Records": len(records), "RejectedRecords": len(result.rejected), "LiveWrites": writes}
    return Handled({"batchItemFailures": []}, counts)


def route(event: dict[str, Any], deps: Dependencies) -> Handled:
    """The same function behind a Kinesis mapping and a Kafka (MSK or self-managed) one."""
    if event.get("eventSource") in KAFKA_EVENT_SOURCES:
        return handle_kafka(KafkaEvent(event), deps)
    return handle(KinesisStreamEvent(event), deps)


handler = OBSERVABILITY.entry(lambda event, context: route(event, dependencies()))
