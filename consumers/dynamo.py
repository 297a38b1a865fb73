"""DynamoDB items of the real-time path (keys in alleycat.domain.keys, attributes in docs/design.md).

A race is ``(raceId, classId)`` (``alleycat.domain.events.RaceKey``): every class races in every
300 s slot, so every race item is keyed by both.

* LIVE (``RACE#r#c / LIVE``): one race's ``RaceScores``, racers as ``RacerScore.to_compact()``,
  written by the Aggregator with optimistic locking on ``version``.
* RESULT (``RACE#r#c / RESULT#x``), BEST (``RACER#x / BEST#CLASS#c``) and CLASS race
  (``CLASS#c / RACE#r``) items, written by FinalResults (the CLASS item first by the Aggregator).

The table resource is created once per process, on first use.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from alleycat.adapters import aws
from alleycat.domain import keys
from alleycat.domain.events import CLASS_IDS
from alleycat.domain.scoring import RacerScore, RaceScores
from alleycat.resources import GSI_BOARDS, LIVE_TTL_SECONDS, TTL_ATTRIBUTE
from alleycat.settings import Settings

log = logging.getLogger("alleycat.consumers")

BATCH_WRITE_MAX = 25
_deserializer = TypeDeserializer()


@cache
def table() -> Any:
    return aws.resource("dynamodb").Table(Settings.from_env().table)


def decimal_output(milli: int) -> Decimal:
    """Thousandths as the DynamoDB number with 3 decimals."""
    return Decimal(milli).scaleb(-3)


def is_conditional_failure(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


# --- LIVE ---------------------------------------------------------------------------------------


@dataclass
class LiveRace:
    """A LIVE item: the race's scores and the item's optimistic-locking version."""

    race: RaceScores
    version: int
    window_end: str | None
    updated_at: int  # epoch ms


def race_from_item(item: dict[str, Any]) -> LiveRace:
    race = RaceScores(int(item["raceId"]), int(item["classId"]))
    for racer_id, compact in item.get("racers", {}).items():
        race.racers[int(racer_id)] = RacerScore.from_compact(int(racer_id), compact)
    return LiveRace(race, int(item.get("version", 0)), item.get("windowEnd"), int(item.get("updatedAt", 0)))


def live_item(live: LiveRace) -> dict[str, Any]:
    race = live.race
    return {
        "PK": keys.race_pk(race.race_id, race.class_id),
        "SK": keys.LIVE_SK,
        "raceId": race.race_id,
        "classId": race.class_id,
        "racers": {str(r.racer_id): r.to_compact() for r in race.racers.values()},
        "windowEnd": live.window_end,
        "version": live.version,
        "updatedAt": live.updated_at,
        TTL_ATTRIBUTE: live.updated_at // 1000 + LIVE_TTL_SECONDS,
    }


def read_live(race_id: int, class_id: int) -> LiveRace | None:
    """The LIVE item of race ``(race_id, class_id)`` (strongly consistent), or None."""
    item = table().get_item(Key={"PK": keys.race_pk(race_id, class_id), "SK": keys.LIVE_SK}, ConsistentRead=True)
    return race_from_item(item["Item"]) if "Item" in item else None


def put_live(live: LiveRace, expected_version: int | None) -> bool:
    """Write the LIVE item if its version is still ``expected_version`` (None: if absent).
    Returns False when another writer got there first."""
    if expected_version is None:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(PK)"}
    else:
        condition = {
            "ConditionExpression": "version = :v",
            "ExpressionAttributeValues": {":v": expected_version},
        }
    try:
        table().put_item(Item=live_item(live), **condition)
        return True
    except ClientError as exc:
        if is_conditional_failure(exc):
            return False
        raise


def changed_racers(old: RaceScores | None, new: RaceScores) -> list[int]:
    """Racers whose score differs between two versions of a race (or who are new)."""
    before = old.racers if old is not None else {}
    return [
        racer_id
        for racer_id, score in new.racers.items()
        if racer_id not in before or before[racer_id].to_compact() != score.to_compact()
    ]


def image(record_image: dict[str, Any] | None) -> dict[str, Any] | None:
    """A DynamoDB Streams image (DynamoDB JSON) as plain values."""
    if not record_image:
        return None
    return {k: _deserializer.deserialize(v) for k, v in record_image.items()}


def is_live(record: dict[str, Any]) -> bool:
    sk = record.get("dynamodb", {}).get("Keys", {}).get("SK", {})
    return sk.get("S") == keys.LIVE_SK


def now_ms() -> int:
    return int(time.time() * 1000)


# --- CLASS race, RESULT, BEST ---------------------------------------------------------------------


def put_class_race(race_id: int, class_id: int, started_at: int) -> bool:
    """The CLASS race item, once (first sight of the race). Returns True if this call wrote it."""
    try:
        table().put_item(
            Item={
                "PK": keys.class_pk(class_id),
                "SK": keys.race_sk(race_id),
                "raceId": race_id,
                "classId": class_id,
                "startedAt": started_at,
                "status": "live",
                "racers": 0,
            },
            ConditionExpression="attribute_not_exists(PK)",
        )
        return True
    except ClientError as exc:
        if is_conditional_failure(exc):
            return False
        raise


def complete_class_race(race_id: int, class_id: int, racers: int) -> None:
    table().update_item(
        Key={"PK": keys.class_pk(class_id), "SK": keys.race_sk(race_id)},
        UpdateExpression="SET #s = :s, racers = :n, raceId = :r, classId = :c",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "completed", ":n": racers, ":r": race_id, ":c": class_id},
    )


def result_item(race_id: int, score: RacerScore, updated_at: int) -> dict[str, Any]:
    """The RESULT item of ``score`` in race ``(race_id, score.class_id)``."""
    return {
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


def put_best(race_id: int, score: RacerScore, updated_at: int) -> bool:
    """The racer's class best, only if absent or lower. Returns True if it was written."""
    total = decimal_output(score.total_milli)
    try:
        table().update_item(
            Key={"PK": keys.racer_pk(score.racer_id), "SK": keys.best_sk(score.class_id)},
            UpdateExpression=(
                "SET GSI1PK = :pk, GSI1SK = :sk, racerId = :racer, classId = :c, #n = :name, "
                "totalOutput = :t, raceId = :race, updatedAt = :u"
            ),
            ConditionExpression="attribute_not_exists(PK) OR totalOutput < :t",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={
                ":pk": keys.best_board_pk(score.class_id),
                ":sk": keys.score_key(score.total_milli, score.racer_id),
                ":racer": score.racer_id,
                ":c": score.class_id,
                ":name": score.name,
                ":t": total,
                ":race": race_id,
                ":u": updated_at,
            },
        )
        return True
    except ClientError as exc:
        if is_conditional_failure(exc):
            return False
        raise


def batch_write(items: Sequence[dict[str, Any]], max_attempts: int = 8, base_delay_s: float = 0.05) -> int:
    """PutRequests in BatchWriteItem calls of 25, retrying UnprocessedItems with exponential
    backoff. Returns the number of calls made; raises if items stay unprocessed."""
    name = table().name
    client = aws.resource("dynamodb").meta.client
    calls = 0
    for start in range(0, len(items), BATCH_WRITE_MAX):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_MAX]]
        for attempt in range(max_attempts):
            calls += 1
            unprocessed = client.batch_write_item(RequestItems={name: requests}).get("UnprocessedItems", {})
            requests = unprocessed.get(name, [])
            if not requests:
                break
            time.sleep(min(2.0, base_delay_s * 2**attempt))
        else:
            raise RuntimeError(f"{len(requests)} items still unprocessed after {max_attempts} BatchWriteItem calls")
    return calls


# --- reading boards (the leaderboard command) ------------------------------------------------------


def race_classes(race_id: int) -> list[int]:
    """The classes that have a race in slot ``race_id``: those whose CLASS race item
    (``CLASS#c / RACE#r``) exists. One GetItem per class, no scan."""
    found = []
    for class_id in CLASS_IDS:
        key = {"PK": keys.class_pk(class_id), "SK": keys.race_sk(race_id)}
        if "Item" in table().get_item(Key=key, ProjectionExpression="PK"):
            found.append(class_id)
    return found


def query_results(race_id: int, class_id: int, limit: int) -> list[dict[str, Any]]:
    """The RESULT items of race ``(race_id, class_id)`` in rank order (GSI1, descending), up to
    ``limit``."""
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "IndexName": GSI_BOARDS,
        "KeyConditionExpression": "GSI1PK = :pk",
        "ExpressionAttributeValues": {":pk": keys.race_pk(race_id, class_id)},
        "ScanIndexForward": False,
    }
    while len(items) < limit:
        page = table().query(Limit=min(1000, limit - len(items)), **kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items
