"""Bad input, fuzzed: whatever bytes arrive, the decoder either returns an event or raises
``InvalidEvent`` with a known reason and a detail, and the aggregator's merge turns every refused
record into a dead letter that carries that reason (nothing else is ever raised).

Inputs: arbitrary bytes, valid events with one field replaced by any JSON value, broken JSON
(truncated or spliced), odd Unicode (surrogates, controls, non-characters, right-to-left marks) in
the strings, and payloads at and just past the size limit. ``ALLEYCAT_FUZZ_EXAMPLES`` raises the
number of examples per property (``make fuzz``)."""

from __future__ import annotations

import base64
import json
import os
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alleycat.adapters.dead_letter import LocalDeadLetter
from alleycat.domain.events import FIELDS, MAX_PAYLOAD_BYTES, InvalidEvent, Telemetry, parse_event
from consumers.aggregator import merge_records

EXAMPLES = int(os.environ.get("ALLEYCAT_FUZZ_EXAMPLES", "300"))
REASONS = {
    "bad_base64",
    "bad_name",
    "bad_json",
    "bad_uuid",
    "missing_field",
    "not_an_object",
    "not_finite",
    "not_utf8",
    "out_of_range",
    "oversize",
    "too_precise",
    "unknown_event",
    "wrong_type",
}
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid_doc() -> dict[str, Any]:
    return {
        "uuid": str(uuid.UUID(int=42)),
        "event": "update",
        "deviceTimestamp": 1_900_000_000_000,
        "second": 12,
        "raceId": 6_333_333,
        "name": "Ada",
        "racerId": 7,
        "classId": 2,
        "cadence": 87.3,
        "resistance": 40,
    }


# any character, surrogates and controls included, plus a few that break naive code
odd_text = st.text(
    st.one_of(
        st.characters(codec=None),
        st.sampled_from(["\u202e", "\ufeff", "\ufffe", "\x00", "\ud800", "\U0010ffff", "\u0301"]),
    ),
    max_size=80,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
    max_leaves=12,
)


def _dumps(doc: Any) -> bytes:
    # surrogates cannot be UTF-8 encoded: send them as JSON escapes, which is what a sender could do
    return json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def one_field_spoiled(draw: st.DrawFn) -> bytes:
    doc = valid_doc()
    field = draw(st.sampled_from(FIELDS))
    if draw(st.booleans()):
        doc[field] = draw(json_values)
    else:
        del doc[field]
    return _dumps(doc)


@st.composite
def broken_json(draw: st.DrawFn) -> bytes:
    raw = _dumps(valid_doc())
    cut = draw(st.integers(0, len(raw) - 1))
    return raw[:cut] + draw(st.binary(max_size=8))


@st.composite
def at_the_size_limit(draw: st.DrawFn) -> bytes:
    """A valid event padded with an unknown field to exactly the limit, or a few bytes past it."""
    over = draw(st.integers(0, 3))
    doc = valid_doc()
    base = len(_dumps({**doc, "pad": ""}))
    doc["pad"] = "x" * (MAX_PAYLOAD_BYTES - base + over)
    raw = _dumps(doc)
    assert len(raw) == MAX_PAYLOAD_BYTES + over
    return raw


payloads = st.one_of(
    st.binary(max_size=MAX_PAYLOAD_BYTES + 16),
    one_field_spoiled(),
    broken_json(),
    at_the_size_limit(),
    json_values.map(_dumps),
    st.builds(lambda name: _dumps({**valid_doc(), "name": name}), odd_text),
)


def _decode(raw: bytes) -> Telemetry | InvalidEvent:
    try:
        return parse_event(raw)
    except InvalidEvent as exc:
        return exc


@FUZZ
@given(payloads)
def test_the_decoder_accepts_or_refuses_with_a_reason(raw: bytes) -> None:
    outcome = _decode(raw)
    if isinstance(outcome, InvalidEvent):
        assert outcome.reason in REASONS and outcome.detail
    else:
        assert len(raw) <= MAX_PAYLOAD_BYTES
        assert parse_event(outcome.to_json()) == outcome  # what it accepted reads back the same


def test_the_size_limit_is_inclusive() -> None:
    doc = valid_doc()
    doc["pad"] = "x" * (MAX_PAYLOAD_BYTES - len(_dumps({**doc, "pad": ""})))
    assert isinstance(_decode(_dumps(doc)), Telemetry)
    doc["pad"] += "x"
    refused = _decode(_dumps(doc))
    assert isinstance(refused, InvalidEvent) and refused.reason == "oversize"


def _record(data: str, n: int) -> dict[str, Any]:
    return {
        "eventID": f"shardId-000000000000:{n}",
        "kinesis": {"data": data, "partitionKey": "p", "sequenceNumber": str(n), "approximateArrivalTimestamp": 1.0},
    }


@FUZZ
@given(st.lists(st.one_of(payloads.map(lambda b: base64.b64encode(b).decode()), odd_text), min_size=1, max_size=8))
def test_every_refused_record_is_dead_lettered_with_its_reason(datas: list[str]) -> None:
    state: dict[str, Any] = {}
    result = merge_records(state, [_record(d, n) for n, d in enumerate(datas)])
    assert result.valid + len(result.rejected) == len(datas)
    assert all(r.reason in REASONS and r.detail for r in result.rejected)
    assert [r.data for r in result.rejected] == [
        d for d in datas if isinstance(_decode_data(d), InvalidEvent)
    ]  # in order, the payload as received


def _decode_data(data: str) -> Telemetry | InvalidEvent:
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError as exc:
        return InvalidEvent("bad_base64", str(exc))
    return _decode(raw)


def test_a_dead_letter_keeps_the_reason(tmp_path: Path) -> None:
    result = merge_records({}, [_record(base64.b64encode(b'{"uuid": 1}').decode(), 1)])
    where = LocalDeadLetter(tmp_path).put("aggregator", result.rejected)
    letter = json.loads(Path(where).read_text())
    assert letter["reason"] == "missing_field" and "missing" in letter["detail"]
