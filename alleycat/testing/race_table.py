"""An in-memory race table: ``alleycat.adapters.race_table.RaceTable`` with DynamoDB's conditions.

``InMemoryRaceTable`` keeps items by ``(PK, SK)`` the way DynamoDB stores them: each item goes
through boto3's serializer and back, so a float (which DynamoDB refuses) fails here too and numbers
read back as ``Decimal``. Its conditions are the real table's:

* LIVE: the put succeeds only if the stored ``version`` is the expected one (or the item is absent
  when None is expected);
* CLASS race: put only if absent; completing it creates it if absent, like UpdateItem;
* BEST: written only if absent or lower;
* RESULT boards: ``query_results`` reads GSI1 in descending order.

Injected trouble, for the retry paths:

* ``lose_live_puts(n)``: the next ``n`` LIVE puts lose as if another writer got there first;
* ``leave_unprocessed(n)``: the next ``n`` BatchWriteItem calls process nothing (``UnprocessedItems``),
  through the same retry loop as the real table (``write_in_batches``); the backoff delays are
  recorded in ``sleeps`` instead of slept.

``FailingWrites`` wraps one so that its next writes raise DynamoDB's throttling or a 5xx.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from alleycat.adapters.race_items import (
    Item,
    LiveRace,
    best_attributes,
    best_key,
    class_race_item,
    live_item,
    race_from_item,
)
from alleycat.adapters.race_table import WriteRequest, write_in_batches
from alleycat.domain import keys
from alleycat.domain.events import CLASS_IDS
from alleycat.domain.scoring import RacerScore

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def stored(item: Item) -> Item:
    """``item`` as DynamoDB would return it (numbers as Decimal; floats refused)."""
    return {k: _deserializer.deserialize(_serializer.serialize(v)) for k, v in item.items()}


class InMemoryRaceTable:
    """A ``RaceTable`` in a dict. ``items`` is public: tests read and seed it directly."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Item] = {}
        self.class_puts: list[tuple[int, int]] = []  # every put_class_race call, written or not
        self.batch_calls = 0
        self.written_results: list[Item] = []  # every item write_results wrote, in order
        self.completions: list[tuple[int, int, int]] = []  # (raceId, classId, racers) per completion
        self.sleeps: list[float] = []
        self._lost_live_puts = 0
        self._unprocessed_calls = 0

    # --- injected trouble ---

    def lose_live_puts(self, n: int = 1) -> None:
        self._lost_live_puts += n

    def leave_unprocessed(self, n: int = 1) -> None:
        self._unprocessed_calls += n

    # --- reading items ---

    def item(self, pk: str, sk: str) -> Item | None:
        found = self.items.get((pk, sk))
        return stored(found) if found is not None else None

    def _put(self, item: Item) -> None:
        self.items[(item["PK"], item["SK"])] = stored(item)

    # --- RaceTable ---

    def read_live(self, race_id: int, class_id: int) -> LiveRace | None:
        item = self.item(keys.race_pk(race_id, class_id), keys.LIVE_SK)
        return race_from_item(item) if item is not None else None

    def put_live(self, live: LiveRace, expected_version: int | None) -> bool:
        item = live_item(live)
        if self._lost_live_puts:
            self._lost_live_puts -= 1
            return False
        current = self.items.get((item["PK"], item["SK"]))
        if (None if current is None else int(current["version"])) != expected_version:
            return False
        self._put(item)
        return True

    def put_class_race(self, race_id: int, class_id: int, started_at: int) -> bool:
        self.class_puts.append((race_id, class_id))
        item = class_race_item(race_id, class_id, started_at)
        if (item["PK"], item["SK"]) in self.items:
            return False
        self._put(item)
        return True

    def complete_class_race(self, race_id: int, class_id: int, racers: int) -> None:
        self.completions.append((race_id, class_id, racers))
        key = (keys.class_pk(class_id), keys.race_sk(race_id))
        current = self.items.get(key, {"PK": key[0], "SK": key[1]})
        self._put({**current, "status": "completed", "racers": racers, "raceId": race_id, "classId": class_id})

    def write_results(self, items: Sequence[Item]) -> int:
        def send(requests: list[WriteRequest]) -> list[WriteRequest]:
            self.batch_calls += 1
            if self._unprocessed_calls:
                self._unprocessed_calls -= 1
                return requests
            for request in requests:
                self._put(request["PutRequest"]["Item"])
                self.written_results.append(stored(request["PutRequest"]["Item"]))
            return []

        return write_in_batches(send, items, sleep=self.sleeps.append)

    def put_best(self, race_id: int, score: RacerScore, updated_at: int) -> bool:
        key = best_key(score)
        attributes = best_attributes(race_id, score, updated_at)
        current = self.items.get((key["PK"], key["SK"]))
        if current is not None and not current["totalOutput"] < attributes["totalOutput"]:
            return False
        self._put({**(current or {}), **key, **attributes})
        return True

    def race_classes(self, race_id: int) -> list[int]:
        return [c for c in CLASS_IDS if (keys.class_pk(c), keys.race_sk(race_id)) in self.items]

    def query_results(self, race_id: int, class_id: int, limit: int) -> list[Item]:
        board = keys.race_pk(race_id, class_id)
        rows = [item for item in self.items.values() if item.get("GSI1PK") == board]
        rows.sort(key=lambda item: str(item["GSI1SK"]), reverse=True)
        return [stored(item) for item in rows[:limit]]


THROTTLED = (
    "ProvisionedThroughputExceededException",
    400,
    "The level of configured provisioned throughput for the table was exceeded.",
)
SERVER_ERROR = ("InternalServerError", 500, "Internal server error")


class FailingWrites:
    """A ``RaceTable`` whose next writes fail as DynamoDB's do on a bad day, then go through to
    ``inner``: ``throttle(n)`` queues n ``ProvisionedThroughputExceededException`` (HTTP 400, what
    boto3 raises once its own retries are spent), ``server_errors(n)`` n ``InternalServerError``
    (HTTP 500). A failed write changes nothing. Reads always go through. ``failed`` counts them."""

    WRITES = frozenset({"put_live", "put_class_race", "complete_class_race", "write_results", "put_best"})

    def __init__(self, inner: InMemoryRaceTable) -> None:
        self.inner = inner
        self.failed = 0
        self._queued: list[tuple[str, int, str]] = []

    def throttle(self, n: int) -> None:
        self._queued += [THROTTLED] * n

    def server_errors(self, n: int) -> None:
        self._queued += [SERVER_ERROR] * n

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if name not in self.WRITES:
            return target

        def write(*args: Any, **kwargs: Any) -> Any:
            if self._queued:
                code, status, message = self._queued.pop(0)
                self.failed += 1
                error: Any = {
                    "Error": {"Code": code, "Message": message},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                }
                raise ClientError(error, name)
            return target(*args, **kwargs)

        return write
