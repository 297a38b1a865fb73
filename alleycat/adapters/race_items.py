"""The items of the real-time path as DynamoDB sees them (keys in ``alleycat.domain.keys``,
attributes in docs/design.md): one place that turns race scores into items and items back.

A race is ``(raceId, classId)`` (``alleycat.domain.events.RaceKey``): every class races in every
300 s slot, so every race item is keyed by both.

* LIVE (``RACE#r#c / LIVE``): one race's ``RaceScores``, with the optimistic-locking ``version``;
  its racers (``RacerScore.to_compact()`` by racerId) packed in one binary attribute, ``racers``:
  zlib-compressed JSON (``pack_racers``). As a map of maps the item was ~205 KB at 1,000 racers
  (205 WCU a write, and boto3 spent more time converting it than anything else in the real-time
  path); packed it is a quarter of that and one value to convert. An item written before they
  were packed (a map) is still read.
* RESULT (``RACE#r#c / RESULT#x``): a finished racer's result, on the race board (GSI1) and the
  racer's history (GSI2).
* BEST (``RACER#x / BEST#CLASS#c``) and CLASS race (``CLASS#c / RACE#r``): see ``best_attributes``
  and ``class_race_item``.

Numbers are written as ints or ``Decimal`` (DynamoDB has no floats) and come back as ``Decimal``,
which the readers here accept.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from alleycat.domain import keys
from alleycat.domain.scoring import RacerScore, RaceScores
from alleycat.resources import LIVE_TTL_SECONDS, TTL_ATTRIBUTE

Item = dict[str, Any]


def decimal_output(milli: int) -> Decimal:
    """Thousandths as the DynamoDB number with 3 decimals."""
    return Decimal(milli).scaleb(-3)


@dataclass
class LiveRace:
    """A LIVE item: the race's scores and the item's optimistic-locking version."""

    race: RaceScores
    version: int
    window_end: str | None
    updated_at: int  # epoch ms


def pack_racers(race: RaceScores) -> bytes:
    """A LIVE item's ``racers``: the compact scores by racerId, as zlib-compressed JSON (level 1:
    most of the size for a fraction of the time of the higher levels)."""
    return zlib.compress(msgspec.json.encode({str(r.racer_id): r.to_compact() for r in race.racers.values()}), 1)


def unpack_racers(value: Any) -> Mapping[str, Any]:
    """``pack_racers`` undone, from what a reader holds: bytes (boto3 client), boto3's ``Binary``
    (resource), base64 text (a Lambda event's stream image), or the map of an unpacked item."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str):
        value = base64.b64decode(value)
    raw = bytes(value.value if hasattr(value, "value") else value)
    decoded: dict[str, Any] = msgspec.json.decode(zlib.decompress(raw))
    return decoded


def race_from_item(item: Mapping[str, Any]) -> LiveRace:
    """The ``LiveRace`` of a LIVE item (plain values, as a table read or a stream image has them)."""
    race = RaceScores(int(item["raceId"]), int(item["classId"]))
    for racer_id, compact in unpack_racers(item.get("racers", {})).items():
        race.racers[int(racer_id)] = RacerScore.from_compact(int(racer_id), compact)
    return LiveRace(race, int(item.get("version", 0)), item.get("windowEnd"), int(item.get("updatedAt", 0)))


def live_item(live: LiveRace) -> Item:
    race = live.race
    return {
        "PK": keys.race_pk(race.race_id, race.class_id),
        "SK": keys.LIVE_SK,
        "raceId": race.race_id,
        "classId": race.class_id,
        "racers": pack_racers(race),
        "windowEnd": live.window_end,
        "version": live.version,
        "updatedAt": live.updated_at,
        TTL_ATTRIBUTE: live.updated_at // 1000 + LIVE_TTL_SECONDS,
    }


def is_live_key(key: Mapping[str, Any]) -> bool:
    """Whether an item's key (``PK``/``SK``, plain values) is a LIVE item's."""
    return key.get("SK") == keys.LIVE_SK


def class_race_item(race_id: int, class_id: int, started_at: int) -> Item:
    """The CLASS race item of a race seen for the first time (status ``live``)."""
    return {
        "PK": keys.class_pk(class_id),
        "SK": keys.race_sk(race_id),
        "raceId": race_id,
        "classId": class_id,
        "startedAt": started_at,
        "status": "live",
        "racers": 0,
    }


def result_item(race_id: int, score: RacerScore, updated_at: int, rank: int | None = None) -> Item:
    """The RESULT item of ``score`` in race ``(race_id, score.class_id)``; ``rank``, its place in the
    race, once the race is complete (before that, ranks still move and the item has none)."""
    item: Item = {
        "PK": keys.race_pk(race_id, score.class_id),
        "SK": keys.result_sk(score.racer_id),
        "GSI1PK": keys.race_pk(race_id, score.class_id),
        "GSI1SK": keys.score_key(score.total_milli, score.racer_id),
        "GSI2PK": keys.racer_pk(score.racer_id),
        "GSI2SK": keys.race_sk(race_id),
        "raceId": race_id,
        "racerId": score.racer_id,
        "classId": score.class_id,
        "name": score.name,
        "totalOutput": decimal_output(score.total_milli),
        "avgOutput": Decimal(repr(score.avg_output)),
        "maxOutput": decimal_output(score.max_milli),
        "seconds": score.seconds,
        "lastSecond": score.last_second,
        "finished": score.finished,
        "updatedAt": updated_at,
    }
    if rank is not None:
        item["rank"] = rank
    return item


def best_key(score: RacerScore) -> Item:
    return {"PK": keys.racer_pk(score.racer_id), "SK": keys.best_sk(score.class_id)}


def best_attributes(race_id: int, score: RacerScore, updated_at: int) -> Item:
    """The attributes of a racer's class BEST (besides its key), on the class's all-time board (GSI1)."""
    return {
        "GSI1PK": keys.best_board_pk(score.class_id),
        "GSI1SK": keys.score_key(score.total_milli, score.racer_id),
        "racerId": score.racer_id,
        "classId": score.class_id,
        "name": score.name,
        "totalOutput": decimal_output(score.total_milli),
        "raceId": race_id,
        "updatedAt": updated_at,
    }
