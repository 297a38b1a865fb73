"""Outputs are exact: every accepted cadence and resistance gives a whole number of thousandths, and
a racer's total is the formula's exact sum, recomputed independently here with fractions; a finer
value is rejected at validation with its reason instead of being rounded."""

from __future__ import annotations

import json
import uuid
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alleycat.domain.events import InvalidEvent, parse_event
from alleycat.domain.scoring import score_races

T0 = 1_900_000_000_000


def _payload(second: int, cadence: object, resistance: object) -> bytes:
    return json.dumps(
        {
            "uuid": str(uuid.UUID(int=second)),
            "event": "update",
            "deviceTimestamp": T0 + second * 1000,
            "second": second,
            "raceId": 6_333_333,
            "name": "r",
            "racerId": 7,
            "classId": 2,
            "cadence": cadence,
            "resistance": resistance,
        }
    ).encode()


def _exact(cadence_text: str, resistance_text: str) -> Fraction:
    """The output formula, ((cadence + 35) * (resistance + 65)) / 100, over the decimal text sent."""
    return (Fraction(cadence_text) + 35) * (Fraction(resistance_text) + 65) / 100


# cadence in tenths 0..2500 and whole resistance 0..100, as a bike sends them (text, as on the wire)
points = st.lists(st.tuples(st.integers(0, 2500), st.integers(0, 100)), min_size=1, max_size=300)


@settings(max_examples=200, deadline=None)
@given(points)
def test_totals_are_the_formulas_exact_sum(values: list[tuple[int, int]]) -> None:
    texts = [(f"{tenths // 10}.{tenths % 10}", str(r)) for tenths, r in values]
    events = [parse_event(_payload(s, json.loads(c), json.loads(r))) for s, (c, r) in enumerate(texts, start=1)]
    racer = score_races(events)[events[0].race].racers[7]
    want = sum((_exact(c, r) for c, r in texts), Fraction(0))
    assert Fraction(racer.total_milli, 1000) == want
    assert Fraction(str(racer.total_output)) == want  # the float the API shows reads back exactly
    assert Fraction(racer.max_milli, 1000) == max(_exact(c, r) for c, r in texts)
    assert all(ev.output_milli == _exact(c, r) * 1000 for ev, (c, r) in zip(events, texts, strict=True))


@pytest.mark.parametrize(
    ("cadence", "resistance", "field"),
    [
        (87.25, 40, "cadence"),
        (80.0, 40.5, "resistance"),
        (0.30000000000000004, 40, "cadence"),
        (80, 1e-7, "resistance"),
    ],
)
def test_a_finer_value_is_rejected_with_its_reason(cadence: float, resistance: float, field: str) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_payload(1, cadence, resistance))
    assert caught.value.reason == "too_precise"
    assert caught.value.detail.startswith(f"{field}=")


@pytest.mark.parametrize(("cadence", "resistance"), [(80, 40), (80.0, 40.0), (87.3, 100), (250.0, 0), (0, 0.0)])
def test_whole_and_one_decimal_values_are_accepted(cadence: float, resistance: float) -> None:
    ev = parse_event(_payload(1, cadence, resistance))
    assert ev.output_milli * Fraction(1, 1000) == _exact(repr(float(cadence)), repr(float(resistance)))
