"""The telemetry event: one message a second from one bike.

This module is the single definition of the wire format (camelCase JSON, UTF-8, one event per
Kinesis record), its validation rules and the output formula. Every stage imports it.

Ranges (documented in docs/design.md, checked by ``parse_event``):

=================  ===========================================================
field              rule
=================  ===========================================================
uuid               canonical lowercase UUID string (36 chars); the message id
event              ``update`` or ``final`` (a racer's last data point)
deviceTimestamp    integer epoch milliseconds, 2000-01-01 .. 2100-01-01
second             integer 1 .. MAX_SECOND (a race is 300 s by default)
raceId             integer >= 0 (``floor(start_ms / 300000)`` for scheduled races)
name               string, 1 .. 64 characters (code points, after Unicode NFC); stored NFC; no
                   control characters (Cc) nor bidi embeddings/overrides/isolates (bad_name)
racerId            integer 0 .. 99,999,999
classId            integer 1 .. 6
cadence            finite number 0 .. 250 (rpm), at most one decimal
resistance         finite number 0 .. 100 (percent), a whole number
=================  ===========================================================

The precision rule makes every output an exact number of thousandths (``output_milli``), so every
layer that sums outputs (DynamoDB, the lake, SQL, the API) gets the formula's exact total; a finer
value is rejected (``too_precise``) rather than rounded.

A payload larger than MAX_PAYLOAD_BYTES is rejected before it is parsed.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NamedTuple, cast

import msgspec

from alleycat.support.characters import is_control

RACE_SECONDS = 300
RACE_MS = RACE_SECONDS * 1000
MAX_SECOND = 3600
CLASS_IDS = range(1, 7)
MAX_PAYLOAD_BYTES = 2048
MAX_NAME_CHARS = 64
MAX_RACER_ID = 99_999_999
MAX_RACE_ID = 2**53
CADENCE_RANGE = (0.0, 250.0)
RESISTANCE_RANGE = (0.0, 100.0)
TIMESTAMP_RANGE = (946_684_800_000, 4_102_444_800_000)  # 2000-01-01 .. 2100-01-01 UTC, ms
CADENCE_SCALE, RESISTANCE_SCALE = 10, 1  # cadence in tenths, resistance whole
EVENT_TYPES = ("update", "final")
EventType = Literal["update", "final"]
FIELDS = (
    "uuid",
    "event",
    "deviceTimestamp",
    "second",
    "raceId",
    "name",
    "racerId",
    "classId",
    "cadence",
    "resistance",
)
_UUID_TEXT = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
UUID_CHARS = 36
# \A..\Z, not ^..$: "$" also matches before a trailing newline
_UUID = re.compile(rf"\A{_UUID_TEXT}\Z")
# a batch's uuids, each UUID_CHARS long, end to end: one match checks them all
_UUIDS = re.compile(rf"(?:{_UUID_TEXT})*\Z")


class InvalidEvent(ValueError):
    """A message that can never count. ``reason`` is a short, stable code; str() explains."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class PointKey(NamedTuple):
    """The natural key of a data point."""

    race_id: int
    racer_id: int
    second: int


class RaceKey(NamedTuple):
    """A race: every class races in every 300 s slot, so ``raceId`` (the slot) and ``classId``
    together name one race. A racer rides one class per slot, so ``(raceId, racerId)`` is unique."""

    race_id: int
    class_id: int


def output_of(cadence: float, resistance: float) -> float:
    """The output (power) of one data point: ((cadence + 35) * (resistance + 65)) / 100."""
    return ((cadence + 35) * (resistance + 65)) / 100


def output_milli(cadence: float, resistance: float) -> int:
    """Output in thousandths, as an exact integer: scores are summed in these units.

    Exact for every value validation accepts: cadence with at most one decimal and whole
    resistance give (10 * cadence + 350) * (resistance + 65) thousandths, an integer.
    """
    return round((cadence + 35) * (resistance + 65) * 10)


def race_id_for(start_ms: int) -> int:
    """The raceId of a scheduled race starting at ``start_ms``."""
    return start_ms // RACE_MS


# The rules as msgspec constraints, from the same constants as ``validate``'s. The uuid's spelling
# is not one of them: a pattern constraint runs a regex per record, ``parse_events`` one per batch.
# Nor is the cadence's tenth: msgspec's ``multiple_of`` takes the remainder of binary doubles, so
# 0.3 is no multiple of 0.1 to it; of 1 (the resistance's rule) it is exact.
_Uuid = Annotated[str, msgspec.Meta(min_length=UUID_CHARS, max_length=UUID_CHARS)]
_Timestamp = Annotated[int, msgspec.Meta(ge=TIMESTAMP_RANGE[0], le=TIMESTAMP_RANGE[1])]
_Second = Annotated[int, msgspec.Meta(ge=1, le=MAX_SECOND)]
_RaceId = Annotated[int, msgspec.Meta(ge=0, le=MAX_RACE_ID)]
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME_CHARS)]
_RacerId = Annotated[int, msgspec.Meta(ge=0, le=MAX_RACER_ID)]
_ClassId = Annotated[int, msgspec.Meta(ge=CLASS_IDS.start, le=CLASS_IDS.stop - 1)]
_Cadence = Annotated[float, msgspec.Meta(ge=CADENCE_RANGE[0], le=CADENCE_RANGE[1])]
_Resistance = Annotated[
    float, msgspec.Meta(ge=RESISTANCE_RANGE[0], le=RESISTANCE_RANGE[1], multiple_of=1 / RESISTANCE_SCALE)
]


class Telemetry(msgspec.Struct, frozen=True, rename="camel"):
    """One validated message. Decoding JSON into this type checks the types and ranges of the table
    above, and that the resistance is whole, in msgspec's C decoder; ``parse_events`` adds the
    uuid's spelling, the cadence's decimals and the name's characters. ``validate`` checks the same
    rules in Python and is what explains a rejection. Constructing it directly checks nothing (it
    is how trusted code builds one)."""

    uuid: _Uuid
    event: EventType
    device_timestamp: _Timestamp
    second: _Second
    race_id: _RaceId
    name: _Name
    racer_id: _RacerId
    class_id: _ClassId
    cadence: _Cadence
    resistance: _Resistance

    @property
    def key(self) -> PointKey:
        return PointKey(self.race_id, self.racer_id, self.second)

    @property
    def race(self) -> RaceKey:
        return RaceKey(self.race_id, self.class_id)

    @property
    def output(self) -> float:
        return output_of(self.cadence, self.resistance)

    @property
    def output_milli(self) -> int:
        return output_milli(self.cadence, self.resistance)

    @property
    def is_final(self) -> bool:
        return self.event == "final"

    @property
    def precedence(self) -> tuple[int, str]:
        """What the winning-message rule compares: ``(deviceTimestamp, uuid)``."""
        return (self.device_timestamp, self.uuid)

    def beats_precedence(self, other: tuple[int, str] | list) -> bool:
        """``beats`` against a message known only by its ``precedence`` (e.g. kept in a window's state)."""
        return self.precedence > tuple(other)

    def beats(self, other: Telemetry) -> bool:
        """The winning-message rule for two messages with the same key: the later
        ``deviceTimestamp`` wins; on a tie the larger ``uuid`` wins. Same uuid: not a win."""
        return self.beats_precedence(other.precedence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "event": self.event,
            "deviceTimestamp": self.device_timestamp,
            "second": self.second,
            "raceId": self.race_id,
            "name": self.name,
            "racerId": self.racer_id,
            "classId": self.class_id,
            "cadence": self.cadence,
            "resistance": self.resistance,
        }

    def to_json(self) -> bytes:
        """The message as a bike sends it: compact UTF-8 JSON, keys in the schema's order. msgspec
        encodes the struct itself, byte for byte what ``json.dumps(to_dict())`` gave for every
        valid message (tests/unit/test_events.py checks it), in 0.2 µs instead of 3.4 µs: the
        simulator's largest cost after botocore's."""
        return _ENCODER.encode(self)


def _int(doc: dict[str, Any], field: str, lo: int, hi: int) -> int:
    value = doc[field]
    if type(value) is not int:  # bool is an int subclass: reject it too
        raise InvalidEvent("wrong_type", f"{field} must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise InvalidEvent("out_of_range", f"{field}={value} is outside {lo}..{hi}")
    return value


def _number(doc: dict[str, Any], field: str, lo: float, hi: float) -> float:
    value = doc[field]
    if type(value) not in (int, float):
        raise InvalidEvent("wrong_type", f"{field} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidEvent("not_finite", f"{field} must be finite, got {value}")
    if not lo <= value <= hi:
        raise InvalidEvent("out_of_range", f"{field}={value} is outside {lo:g}..{hi:g}")
    return float(value)


def has_decimals(value: float, scale: int) -> bool:
    """Whether ``value`` is the double nearest a whole number of ``1 / scale``: what a JSON number
    with that many decimals decodes to. ``k / scale`` is correctly rounded, so this is
    ``round(value, decimals) == value`` without ``round``'s decimal conversion (the hot path's cost;
    tests/unit/test_events.py checks both agree on every tenth of the cadence range and its
    neighbours)."""
    return round(value * scale) / scale == value


def _precise(field: str, value: float, scale: int, unit: str) -> float:
    """``value`` unless it has more decimals than ``scale`` allows."""
    if has_decimals(value, scale):
        return value
    allowed = "be a whole number" if scale == 1 else f"have at most {len(str(scale)) - 1} decimal"
    raise InvalidEvent(
        "too_precise", f"{field}={value!r} must {allowed} ({unit}): a finer value cannot be counted exactly"
    )


def normalise_name(name: str) -> str:
    """A racer's name as it is stored: Unicode NFC (one spelling for one name), 1..MAX_NAME_CHARS
    characters (code points, after NFC), no control characters (category Cc: newlines, tabs, NUL,
    ESC, C1 controls) and no bidi embeddings/overrides/isolates. Raises ``InvalidEvent("bad_name")``.
    Markup such as ``<b>`` is a name like any other: outputs escape it."""
    if name.isascii() and name.isprintable():  # nearly every name: nothing to normalise or refuse
        normal = name
    else:
        normal = unicodedata.normalize("NFC", name)
        for char in normal:
            if is_control(char):
                raise InvalidEvent("bad_name", f"name contains the control character U+{ord(char):04X}")
    if not 1 <= len(normal) <= MAX_NAME_CHARS:
        raise InvalidEvent("out_of_range", f"name must have 1..{MAX_NAME_CHARS} characters")
    return normal


def _check_precision(event: Telemetry) -> Telemetry:
    _precise("cadence", event.cadence, CADENCE_SCALE, "rpm")
    _precise("resistance", event.resistance, RESISTANCE_SCALE, "percent")
    name = normalise_name(event.name)
    return event if name == event.name else msgspec.structs.replace(event, name=name)


def _str(doc: dict[str, Any], field: str) -> str:
    value = doc[field]
    if type(value) is not str:
        raise InvalidEvent("wrong_type", f"{field} must be a string, got {type(value).__name__}")
    return value


def validate(doc: Any) -> Telemetry:
    """Check a decoded JSON document against the schema; return the typed event."""
    if not isinstance(doc, dict):
        raise InvalidEvent("not_an_object", f"expected a JSON object, got {type(doc).__name__}")
    missing = [f for f in FIELDS if f not in doc]
    if missing:
        raise InvalidEvent("missing_field", "missing " + ", ".join(missing))
    uuid = _str(doc, "uuid")
    if not _UUID.match(uuid):
        raise InvalidEvent("bad_uuid", f"uuid {uuid[:40]!r} is not a lowercase canonical UUID")
    event = _str(doc, "event")
    if event not in EVENT_TYPES:
        raise InvalidEvent("unknown_event", f"event {event[:20]!r} is not one of {', '.join(EVENT_TYPES)}")
    name = _str(doc, "name")
    if not 1 <= len(name) <= MAX_NAME_CHARS:  # before NFC, like the decoder's constraint
        raise InvalidEvent("out_of_range", f"name must have 1..{MAX_NAME_CHARS} characters")
    return _check_precision(
        Telemetry(
            uuid=uuid,
            event=cast(EventType, event),
            device_timestamp=_int(doc, "deviceTimestamp", *TIMESTAMP_RANGE),
            second=_int(doc, "second", 1, MAX_SECOND),
            race_id=_int(doc, "raceId", 0, MAX_RACE_ID),
            name=name,
            racer_id=_int(doc, "racerId", 0, MAX_RACER_ID),
            class_id=_int(doc, "classId", CLASS_IDS.start, CLASS_IDS.stop - 1),
            cadence=_number(doc, "cadence", *CADENCE_RANGE),
            resistance=_number(doc, "resistance", *RESISTANCE_RANGE),
        )
    )


_DECODER = msgspec.json.Decoder(Telemetry)
_ENCODER = msgspec.json.Encoder()
# The names parse_events has seen, as normalise_name stores them: a racer sends the same name
# every second, so its checks run once per racer, not per message. Bounded (a race's names are
# ~1,000 per class): cleared when full, so odd input can only make it start over.
_NAMES: dict[str, str] = {}
_NAMES_KEPT = 16_384


def parse_event(payload: bytes | str) -> Telemetry:
    """Decode and validate one record's payload (UTF-8 JSON). Raises InvalidEvent."""
    (result,) = parse_events([payload])
    if isinstance(result, InvalidEvent):
        raise result
    return result


def parse_events(payloads: Sequence[bytes | str]) -> list[Telemetry | InvalidEvent]:
    """Decode and validate a batch of payloads: per payload, its event or why it can never count,
    the same answer ``parse_event`` gives it.

    The valid case, nearly every record, is one pass of msgspec's decoder, a float test and a
    name test per record, and one regex over the whole batch's uuids (the hot path of every
    consumer). A payload a check refuses is decoded again by ``explain``, whose first broken rule
    is the reason."""
    raws = [p.encode() if isinstance(p, str) else p for p in payloads]
    results: list[Telemetry | InvalidEvent] = []
    for raw in raws:
        if len(raw) > MAX_PAYLOAD_BYTES:
            results.append(InvalidEvent("oversize", f"payload is {len(raw)} bytes, the limit is {MAX_PAYLOAD_BYTES}"))
            continue
        try:
            event = _DECODER.decode(raw)
        except msgspec.DecodeError as refused:
            # the two agree on every rule (tests/unit/test_events.py proves it on generated input);
            # what only the strict decoder refuses, e.g. a lone surrogate or a UTF-16 body, is not
            # valid UTF-8 JSON
            results.append(_explained(raw, InvalidEvent("bad_json", str(refused))))
            continue
        if not has_decimals(event.cadence, CADENCE_SCALE):  # the decoder has checked the resistance's
            results.append(_explained(raw, InvalidEvent("too_precise", "cadence")))
            continue
        name = _NAMES.get(event.name)
        if name is None:
            try:
                name = normalise_name(event.name)
            except InvalidEvent as exc:
                results.append(_explained(raw, exc))
                continue
            if len(_NAMES) >= _NAMES_KEPT:
                _NAMES.clear()
            _NAMES[event.name] = name
        results.append(event if name == event.name else msgspec.structs.replace(event, name=name))
    if not _UUIDS.match("".join([r.uuid for r in results if type(r) is Telemetry])):
        for i, r in enumerate(results):  # some uuid is misspelt: find which
            if type(r) is Telemetry and not _UUID.match(r.uuid):
                results[i] = _explained(raws[i], InvalidEvent("bad_uuid", "not a lowercase canonical UUID"))
    return results


def _explained(raw: bytes, refusal: InvalidEvent) -> InvalidEvent:
    """Why ``explain`` refuses a payload a fast check refused (it checks the rules in the table's
    order, so a payload breaking two gets the first one's reason); ``refusal`` if it does not."""
    try:
        explain(raw)
    except InvalidEvent as exc:
        return exc
    return refusal


def explain(raw: bytes) -> Telemetry:
    """Decode and validate with the standard library, rule by rule: the first broken rule's
    reason code and detail. Returns the event when every rule holds."""
    try:
        doc = json.loads(raw)
    except UnicodeDecodeError as exc:
        raise InvalidEvent("not_utf8", str(exc)) from None
    except ValueError as exc:
        raise InvalidEvent("bad_json", str(exc)) from None
    return validate(doc)
