"""DynamoDB keys of the single-table design (docs/design.md explains the access patterns), and the
live channel's topic names.

=====================  ========================  ==========================  =========================
item                   PK / SK                   GSI1PK / GSI1SK (boards)    GSI2PK / GSI2SK (history)
=====================  ========================  ==========================  =========================
live standings         RACE#r#c / LIVE           -                           -
race of a class        CLASS#c / RACE#r(pad)     -                           -
final result           RACE#r#c / RESULT#x(pad)  RACE#r#c / score key        RACER#x / RACE#r(pad)
class personal best    RACER#x / BEST#CLASS#c    BEST#CLASS#c / score key    -
=====================  ========================  ==========================  =========================

A race is ``(raceId, classId)`` (alleycat.domain.events.RaceKey): all six classes race in every slot.

The score key sorts, descending, by total output and then by the lower racerId, so one Query with
``ScanIndexForward=False`` returns a leaderboard in rank order.
"""

from __future__ import annotations

from alleycat.domain.events import MAX_RACER_ID

LIVE_SK = "LIVE"
_RACE_PAD = 16
_RACER_PAD = 8


def race_pk(race_id: int, class_id: int) -> str:
    return f"RACE#{race_id}#{class_id}"


def class_pk(class_id: int) -> str:
    return f"CLASS#{class_id}"


def racer_pk(racer_id: int) -> str:
    return f"RACER#{racer_id}"


def race_sk(race_id: int) -> str:
    return f"RACE#{race_id:0{_RACE_PAD}d}"


def result_sk(racer_id: int) -> str:
    return f"RESULT#{racer_id:0{_RACER_PAD}d}"


def best_sk(class_id: int) -> str:
    return f"BEST#CLASS#{class_id}"


def best_board_pk(class_id: int) -> str:
    return f"BEST#CLASS#{class_id}"


def score_key(total_milli: int, racer_id: int) -> str:
    """Sorts descending by total, then ascending by racerId."""
    return f"{total_milli:013d}#{MAX_RACER_ID - racer_id:0{_RACER_PAD}d}"


def parse_race_sk(sk: str) -> int:
    return int(sk.removeprefix("RACE#"))


# --- the live channel ------------------------------------------------------------------------------

LIVE_TOPIC_PATTERN = "alleycat/races/{race_id}/{class_id}/standings"


def live_topic(race_id: int, class_id: int) -> str:
    """The IoT Core topic of race ``(race_id, class_id)``'s live standings (one per race-class)."""
    return LIVE_TOPIC_PATTERN.format(race_id=race_id, class_id=class_id)


def live_topic_filter(race_id: str = "+", class_id: str = "+") -> str:
    """An MQTT topic filter over the live topics (``+``: any one level); IAM policies use ``*``."""
    return LIVE_TOPIC_PATTERN.format(race_id=race_id, class_id=class_id)
