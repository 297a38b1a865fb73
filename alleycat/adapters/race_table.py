"""The race table: every DynamoDB read and write of the real-time path, behind one ``RaceTable`` port.

The handlers (Aggregator, FinalResults), the ``alleycat leaderboard`` command and the tests take a
``RaceTable`` as an argument: ``DynamoRaceTable`` on the real table (DynamoDB Local or AWS), or the
in-memory ``alleycat.testing.race_table.InMemoryRaceTable`` with the same conditions. Items are
built and read by ``alleycat.adapters.race_items``.

Writes and their conditions:

* LIVE: PutItem conditional on ``version`` (optimistic locking), or on absence for a new race.
* CLASS race: PutItem on absence (first sight); completed by UpdateItem.
* RESULT: BatchWriteItem, 25 per call, ``UnprocessedItems`` retried with exponential backoff.
* BEST: UpdateItem only if absent or lower.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from alleycat.adapters import aws
from alleycat.adapters.race_items import (
    Item,
    LiveRace,
    best_attributes,
    best_key,
    class_race_item,
    live_item,
    race_from_item,
)
from alleycat.domain import keys
from alleycat.domain.events import CLASS_IDS
from alleycat.domain.scoring import RacerScore
from alleycat.errors import AlleycatError
from alleycat.resources import GSI_BOARDS
from alleycat.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

BATCH_WRITE_MAX = 25
WriteRequest = dict[str, Any]


class RaceTableError(AlleycatError):
    """A write that could not be completed (items left unprocessed, a LIVE item that keeps conflicting)."""


class RaceTable(Protocol):
    """The real-time path's access to the single table. Race ``(race_id, class_id)``."""

    def read_live(self, race_id: int, class_id: int) -> LiveRace | None:
        """The race's LIVE item (strongly consistent), or None."""
        ...

    def put_live(self, live: LiveRace, expected_version: int | None) -> bool:
        """Write the LIVE item if its version is still ``expected_version`` (None: if absent).
        Returns False when another writer got there first."""
        ...

    def put_class_race(self, race_id: int, class_id: int, started_at: int) -> bool:
        """The CLASS race item, once (first sight of the race). Returns True if this call wrote it."""
        ...

    def complete_class_race(self, race_id: int, class_id: int, racers: int) -> None:
        """Mark the CLASS race item completed, with its number of racers."""
        ...

    def write_results(self, items: Sequence[Item]) -> int:
        """Put ``items`` in BatchWriteItem calls of 25, retrying unprocessed items. Returns the
        number of calls made; raises ``RaceTableError`` if items stay unprocessed."""
        ...

    def put_best(self, race_id: int, score: RacerScore, updated_at: int) -> bool:
        """The racer's class best, only if absent or lower. Returns True if it was written."""
        ...

    def race_classes(self, race_id: int) -> list[int]:
        """The classes that have a race in slot ``race_id`` (their CLASS race item exists)."""
        ...

    def query_results(self, race_id: int, class_id: int, limit: int) -> list[Item]:
        """The RESULT items of the race in rank order (GSI1, descending), up to ``limit``."""
        ...


def write_in_batches(
    send: Callable[[list[WriteRequest]], list[WriteRequest]],
    items: Sequence[Item],
    *,
    max_attempts: int = 8,
    base_delay_s: float = 0.05,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """PutRequests for ``items`` through ``send`` (one BatchWriteItem call: it returns the requests
    left unprocessed), 25 per call, retrying the unprocessed ones with exponential backoff. Returns
    the number of calls; raises ``RaceTableError`` if requests stay unprocessed. Shared by the real
    table and the in-memory one, so tests exercise this loop."""
    calls = 0
    for start in range(0, len(items), BATCH_WRITE_MAX):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_MAX]]
        for attempt in range(max_attempts):
            calls += 1
            requests = send(requests)
            if not requests:
                break
            sleep(min(2.0, base_delay_s * 2**attempt))
        else:
            raise RaceTableError(f"{len(requests)} items still unprocessed after {max_attempts} BatchWriteItem calls")
    return calls


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class DynamoRaceTable:
    """``RaceTable`` on a boto3 ``Table`` resource (DynamoDB Local or AWS, as boto3 is configured)."""

    def __init__(self, table: Table, sleep: Callable[[float], None] = time.sleep) -> None:
        self.table = table
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> DynamoRaceTable:
        return cls(aws.resource("dynamodb", settings.region).Table(settings.table))

    def item(self, pk: str, sk: str) -> Item | None:
        """One item by its key (strongly consistent), or None: for inspection and tests."""
        return self.table.get_item(Key={"PK": pk, "SK": sk}, ConsistentRead=True).get("Item")

    def _put_if(self, item: Item, **condition: Any) -> bool:
        try:
            self.table.put_item(Item=item, **condition)
            return True
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise

    def read_live(self, race_id: int, class_id: int) -> LiveRace | None:
        item = self.item(keys.race_pk(race_id, class_id), keys.LIVE_SK)
        return race_from_item(item) if item is not None else None

    def put_live(self, live: LiveRace, expected_version: int | None) -> bool:
        if expected_version is None:
            return self._put_if(live_item(live), ConditionExpression="attribute_not_exists(PK)")
        return self._put_if(
            live_item(live),
            ConditionExpression="version = :v",
            ExpressionAttributeValues={":v": expected_version},
        )

    def put_class_race(self, race_id: int, class_id: int, started_at: int) -> bool:
        return self._put_if(
            class_race_item(race_id, class_id, started_at), ConditionExpression="attribute_not_exists(PK)"
        )

    def complete_class_race(self, race_id: int, class_id: int, racers: int) -> None:
        self.table.update_item(
            Key={"PK": keys.class_pk(class_id), "SK": keys.race_sk(race_id)},
            UpdateExpression="SET #s = :s, racers = :n, raceId = :r, classId = :c",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":s": "completed", ":n": racers, ":r": race_id, ":c": class_id},
        )

    def write_results(self, items: Sequence[Item]) -> int:
        name = self.table.name
        client = self.table.meta.client

        def send(requests: list[WriteRequest]) -> list[WriteRequest]:
            answer = client.batch_write_item(RequestItems={name: requests})  # type: ignore[dict-item]
            return list(answer.get("UnprocessedItems", {}).get(name, []))  # type: ignore[arg-type]

        return write_in_batches(send, items, sleep=self._sleep)

    def put_best(self, race_id: int, score: RacerScore, updated_at: int) -> bool:
        attributes = best_attributes(race_id, score, updated_at)
        try:
            self.table.update_item(
                Key=best_key(score),
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in attributes),
                ConditionExpression="attribute_not_exists(PK) OR #totalOutput < :totalOutput",
                ExpressionAttributeNames={f"#{name}": name for name in attributes},
                ExpressionAttributeValues={f":{name}": value for name, value in attributes.items()},
            )
            return True
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise

    def reconcile_best(self, race_id: int, score: RacerScore, lake_races: Sequence[int], updated_at: int) -> bool:
        """Set the racer's class BEST to ``score`` (the lake's best over ``lake_races``) if it is
        higher, or if the stored BEST comes from one of ``lake_races`` and differs (the lake knows
        that race's correct total). Returns whether it changed."""
        attributes = best_attributes(race_id, score, updated_at)
        races = {f":race{i}": r for i, r in enumerate(lake_races[:99])}  # IN takes up to 100 operands
        try:
            self.table.update_item(
                Key=best_key(score),
                UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in attributes),
                ConditionExpression=(
                    "attribute_not_exists(PK) OR #totalOutput < :totalOutput OR "
                    f"(#raceId IN ({', '.join(races)}) AND (#totalOutput <> :totalOutput OR #raceId <> :raceId))"
                ),
                ExpressionAttributeNames={f"#{name}": name for name in attributes},
                ExpressionAttributeValues={**{f":{name}": value for name, value in attributes.items()}, **races},
            )
            return True
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise

    def race_classes(self, race_id: int) -> list[int]:
        # one GetItem per class, no scan
        found = []
        for class_id in CLASS_IDS:
            key = {"PK": keys.class_pk(class_id), "SK": keys.race_sk(race_id)}
            if "Item" in self.table.get_item(Key=key, ProjectionExpression="PK"):
                found.append(class_id)
        return found

    def query_results(self, race_id: int, class_id: int, limit: int) -> list[Item]:
        items: list[Item] = []
        kwargs: dict[str, Any] = {
            "IndexName": GSI_BOARDS,
            "KeyConditionExpression": "GSI1PK = :pk",
            "ExpressionAttributeValues": {":pk": keys.race_pk(race_id, class_id)},
            "ScanIndexForward": False,
        }
        while len(items) < limit:
            page = self.table.query(Limit=min(1000, limit - len(items)), **kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items
