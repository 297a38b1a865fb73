"""The wire format: schema, validation, the output formula and the winning-message rule."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from alleycat.domain.events import (
    MAX_PAYLOAD_BYTES,
    MAX_RACE_ID,
    MAX_RACER_ID,
    MAX_SECOND,
    RACE_MS,
    TIMESTAMP_RANGE,
    InvalidEvent,
    Telemetry,
    explain,
    has_decimals,
    output_milli,
    output_of,
    parse_event,
    parse_events,
    race_id_for,
    validate,
)

GOOD: dict[str, Any] = {
    "uuid": "0b1e7f3c-9c51-4d0e-8a6f-3f2d5b7c9e01",
    "event": "update",
    "deviceTimestamp": 1620824038331,
    "second": 3,
    "raceId": 5402746,
    "name": "Hayden",
    "racerId": 0,
    "classId": 1,
    "cadence": 79.8,
    "resistance": 79,
}


def with_(**changes: object) -> dict:
    return {**GOOD, **changes}


def reason(payload: bytes | str) -> str:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(payload)
    return caught.value.reason


def test_formula_vector() -> None:
    assert output_of(80, 78) == pytest.approx(164.45)
    assert output_milli(80, 78) == 164_450


def test_output_milli_is_exact_for_one_decimal_cadence_and_whole_resistance() -> None:
    for tenths in range(0, 2501, 7):
        for resistance in (0, 33, 50, 86, 100):
            cadence = tenths / 10
            assert output_milli(cadence, resistance) == (tenths + 350) * (resistance + 65)


def test_good_event_parses_to_telemetry_and_round_trips() -> None:
    ev = parse_event(json.dumps(GOOD).encode())
    assert ev == Telemetry(
        uuid=GOOD["uuid"],
        event="update",
        device_timestamp=1620824038331,
        second=3,
        race_id=5402746,
        name="Hayden",
        racer_id=0,
        class_id=1,
        cadence=79.8,
        resistance=79.0,
    )
    assert parse_event(ev.to_json()) == ev
    assert b"\n" not in ev.to_json() and b" " not in ev.to_json()
    assert ev.output == pytest.approx(((79.8 + 35) * (79 + 65)) / 100)
    assert ev.key == (5402746, 0, 3)
    assert not ev.is_final and validate(with_(event="final")).is_final


def test_parse_accepts_str_and_non_ascii_names() -> None:
    ev = parse_event(json.dumps(with_(name="Zoë Ångström"), ensure_ascii=False))
    assert ev.name == "Zoë Ångström"
    assert parse_event(ev.to_json()) == ev


def test_a_name_seen_before_gets_the_same_answer() -> None:
    """parse_events keeps the names it has checked: a second sight is stored as the first was
    (NFC), and a refused name is refused again, with its reason, every time."""
    decomposed = "Zoe\u0308"  # "Zoë" spelt with a combining diaeresis
    bad = "Zoe\u202e"  # a bidi override
    for _ in range(2):
        ok, refused = parse_events([json.dumps(with_(name=decomposed)), json.dumps(with_(name=bad))])
        assert isinstance(ok, Telemetry) and ok.name == "Zo\u00eb"
        assert isinstance(refused, InvalidEvent) and refused.reason == "bad_name"


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        (with_(cadence="79.8"), "wrong_type"),
        (with_(racerId="0"), "wrong_type"),
        (with_(second=3.0), "wrong_type"),
        (with_(name=42), "wrong_type"),
        (with_(uuid=7), "wrong_type"),
        (with_(classId=True), "wrong_type"),  # bools are ints in Python, not in the schema
        (with_(second=False), "wrong_type"),
        (with_(resistance=True), "wrong_type"),
        (with_(cadence=None), "wrong_type"),
        (with_(event="start"), "unknown_event"),
        (with_(uuid="0B1E7F3C-9C51-4D0E-8A6F-3F2D5B7C9E01"), "bad_uuid"),
        (with_(uuid="0b1e7f3c9c514d0e8a6f3f2d5b7c9e01"), "bad_uuid"),
        (with_(uuid="not-a-uuid"), "bad_uuid"),
        (with_(classId=0), "out_of_range"),
        (with_(classId=7), "out_of_range"),
        (with_(second=0), "out_of_range"),
        (with_(racerId=-1), "out_of_range"),
        (with_(racerId=100_000_000), "out_of_range"),
        (with_(raceId=-1), "out_of_range"),
        (with_(cadence=250.1), "out_of_range"),
        (with_(resistance=-0.5), "out_of_range"),
        (with_(resistance=101), "out_of_range"),
        (with_(deviceTimestamp=1_000), "out_of_range"),
        (with_(name=""), "out_of_range"),
        (with_(name="x" * 65), "out_of_range"),
    ],
)
def test_bad_fields_are_rejected(doc: dict, expected: str) -> None:
    assert reason(json.dumps(doc)) == expected


@pytest.mark.parametrize("field", list(GOOD))
def test_every_field_is_required(field: str) -> None:
    doc = dict(GOOD)
    del doc[field]
    assert reason(json.dumps(doc)) == "missing_field"


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("field", ["cadence", "resistance"])
def test_non_finite_numbers_are_rejected(field: str, token: str) -> None:
    payload = json.dumps(GOOD).replace(f'"{field}": {GOOD[field]}', f'"{field}": {token}')
    assert token in payload
    assert reason(payload) == "not_finite"


def test_malformed_payloads() -> None:
    good = json.dumps(GOOD).encode()
    assert reason(good[:-5]) == "bad_json"
    assert reason(b"") == "bad_json"
    assert reason(b"[1, 2]") == "not_an_object"
    assert reason(b"null") == "not_an_object"
    assert reason(good.replace(b"Hayden", b"Hay\xffden")) == "not_utf8"
    assert reason(json.dumps(with_(name="x" * MAX_PAYLOAD_BYTES))) == "oversize"


def test_oversize_is_checked_on_bytes_before_parsing() -> None:
    padded = json.dumps(GOOD).encode() + b" " * (MAX_PAYLOAD_BYTES - len(json.dumps(GOOD).encode()))
    assert parse_event(padded).name == "Hayden"
    assert reason(padded + b" ") == "oversize"


def test_race_id_is_the_300_second_slot_of_the_start() -> None:
    start = 1_620_824_100_000  # a race boundary
    assert start % RACE_MS == 0
    assert race_id_for(start) == start // 300_000
    assert race_id_for(start + RACE_MS - 1) == race_id_for(start)
    assert race_id_for(start + RACE_MS) == race_id_for(start) + 1


def test_winning_message_rule() -> None:
    a = validate(GOOD)
    later = validate(with_(deviceTimestamp=GOOD["deviceTimestamp"] + 1, uuid="00000000-0000-4000-8000-000000000000"))
    tie_larger_uuid = validate(with_(uuid="ffffffff-0000-4000-8000-000000000000"))
    assert later.beats(a) and not a.beats(later)
    assert tie_larger_uuid.beats(a) and not a.beats(tie_larger_uuid)
    assert not a.beats(validate(GOOD))  # the same message is not a win


# The fast decoder and the rule-by-rule explainer must agree on every input: same event, or both
# refuse. Values are drawn around each rule's edges, with wrong types and odd text mixed in.
_edges = st.one_of(
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 250, 250.0000001, 100, 64, 3600, 3601, 2**53, 2**53 + 1, -0.0, 99_999_999, 10**8]),
    st.booleans(),
    st.none(),
    st.text(max_size=70),
    st.sampled_from(["update", "final", "Update", GOOD["uuid"], GOOD["uuid"].upper(), GOOD["uuid"] + "\n"]),
    st.lists(st.integers(), max_size=2),
)
_docs = st.builds(
    lambda changes, dropped, extra: {k: v for k, v in {**GOOD, **extra, **changes}.items() if k not in dropped},
    st.dictionaries(st.sampled_from(sorted(GOOD)), _edges, max_size=3),
    st.sets(st.sampled_from(sorted(GOOD)), max_size=1),
    st.dictionaries(st.text(max_size=5), _edges, max_size=1),
)


@settings(max_examples=1500, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from(sorted(GOOD)), _edges, max_size=3),
    dropped=st.sets(st.sampled_from(sorted(GOOD)), max_size=1),
    extra=st.dictionaries(st.text(max_size=5), _edges, max_size=1),
)
def test_the_fast_decoder_agrees_with_the_explainer(changes: dict, dropped: set, extra: dict) -> None:
    doc = {k: v for k, v in {**GOOD, **extra, **changes}.items() if k not in dropped}
    payload = json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass")
    _agree(payload)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=100).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_the_fast_decoder_agrees_with_the_explainer_on_any_bytes(payload: bytes) -> None:
    _agree(payload)


@settings(max_examples=300, deadline=None)
@given(st.lists(_docs | st.just(GOOD), max_size=12))
def test_a_batch_gets_what_each_of_its_payloads_gets_alone(docs: list[dict]) -> None:
    payloads = [json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass") for doc in docs]
    assert [_answer(r) for r in parse_events(payloads)] == [_answer(_parsed(p)) for p in payloads]


def test_one_misspelt_uuid_is_refused_and_the_rest_of_its_batch_counts() -> None:
    good = [json.dumps(with_(second=s)).encode() for s in range(1, 5)]
    bad = json.dumps(with_(uuid=GOOD["uuid"].upper())).encode()
    answers = [_answer(r) for r in parse_events([*good[:2], bad, *good[2:]])]
    assert answers[2] == "bad_uuid" and [a.second for a in answers if isinstance(a, Telemetry)] == [1, 2, 3, 4]


def test_the_decimals_test_is_round_on_every_tenth_of_the_cadence_range_and_its_neighbours() -> None:
    for tenths in range(0, 2501):
        for value in (tenths / 10, math.nextafter(tenths / 10, 0), math.nextafter(tenths / 10, 300)):
            assert has_decimals(value, 10) == (round(value, 1) == value), value
            assert has_decimals(value, 1) == (round(value) == value), value


def _parsed(payload: bytes) -> Telemetry | InvalidEvent:
    try:
        return parse_event(payload)
    except InvalidEvent as exc:
        return exc


def _answer(result: Telemetry | InvalidEvent) -> Telemetry | str:
    return result.reason if isinstance(result, InvalidEvent) else result


def _agree(payload: bytes) -> None:
    try:
        expected: Telemetry | str = explain(payload)
    except InvalidEvent as exc:
        expected = exc.reason
    try:
        got: Telemetry | str = parse_event(payload)
    except InvalidEvent as exc:
        got = exc.reason
    if not isinstance(expected, Telemetry):
        assert isinstance(got, str)  # both refuse
    elif _strict_json(payload):
        assert got == expected
    else:  # what only the strict decoder refuses is not RFC 8259 JSON in UTF-8
        assert got == "bad_json"


def _strict_json(payload: bytes) -> bool:
    """RFC 8259 JSON in UTF-8: no NaN/Infinity tokens, no lone surrogates in its strings."""

    def refuse(token: str) -> None:
        raise ValueError(token)

    def encodable(value: object) -> bool:
        if isinstance(value, str):
            return not any(0xD800 <= ord(c) <= 0xDFFF for c in value)
        if isinstance(value, dict):
            return all(encodable(k) and encodable(v) for k, v in value.items())
        if isinstance(value, list):
            return all(encodable(v) for v in value)
        return True

    try:
        return encodable(json.loads(payload.decode("utf-8"), parse_constant=refuse))
    except ValueError:
        return False


@settings(max_examples=500, deadline=None)
@given(
    uid=st.uuids(),
    event=st.sampled_from(["update", "final"]),
    ts=st.integers(*TIMESTAMP_RANGE),
    second=st.integers(1, MAX_SECOND),
    race=st.integers(0, MAX_RACE_ID),
    name=st.text(min_size=1, max_size=24),
    racer=st.integers(0, MAX_RACER_ID),
    cls=st.integers(1, 6),
    tenths=st.integers(0, 2500),
    resistance=st.integers(0, 100),
)
def test_a_valid_message_is_sent_as_the_standard_librarys_json_spells_it(
    uid: Any, event: str, ts: int, second: int, race: int, name: str, racer: int, cls: int, tenths: int, resistance: int
) -> None:
    """``to_json`` (msgspec) gives, byte for byte, what ``json.dumps`` of ``to_dict`` gave."""
    doc = {"uuid": str(uid), "event": event, "deviceTimestamp": ts, "second": second, "raceId": race, "name": name,
           "racerId": racer, "classId": cls, "cadence": tenths / 10, "resistance": resistance}  # fmt: skip
    try:
        ev = parse_event(json.dumps(doc, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    except InvalidEvent:
        assume(False)
        return
    assert ev.to_json() == json.dumps(ev.to_dict(), separators=(",", ":"), ensure_ascii=False).encode()
    assert parse_event(ev.to_json()) == ev
