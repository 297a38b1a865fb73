"""The domain: event schema and validation, the output formula, scores, keys and window maths.

Every stage (producers, handlers, the Glue job, the API, the SQL checks) imports these; none
copies them.
"""

from alleycat.domain.events import (
    RACE_MS,
    RACE_SECONDS,
    InvalidEvent,
    PointKey,
    RaceKey,
    Telemetry,
    output_milli,
    output_of,
    parse_event,
    race_id_for,
    validate,
)
from alleycat.domain.scoring import RacerScore, RaceScores, rank, score_races, winners

__all__ = [
    "RACE_MS",
    "RACE_SECONDS",
    "InvalidEvent",
    "PointKey",
    "RaceKey",
    "RaceScores",
    "RacerScore",
    "Telemetry",
    "output_milli",
    "output_of",
    "parse_event",
    "race_id_for",
    "rank",
    "score_races",
    "validate",
    "winners",
]
