"""The API's reads of the single table: each listing is one Query, each item one GetItem.

The one exception is a racer's history when a RESULT item carries no ``rank``: its rank is one
``Select=COUNT`` Query on GSI1 (how many results of that race sort above it), memoized for
``RANK_TTL_S`` seconds. docs/api.md explains the choice.

The DynamoDB client is injected (built at the edge, ``alleycat.adapters.aws.client``), and so is the
cursor signer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from alleycat.domain import keys
from alleycat.resources import GSI_BOARDS, GSI_HISTORY
from consumers.api.cursor import CursorSigner
from consumers.api.errors import ApiError

RANK_TTL_S = 60.0
_DESERIALIZE = TypeDeserializer().deserialize

# the attributes of a LastEvaluatedKey, per index
KEY_ATTRIBUTES: dict[str | None, tuple[str, ...]] = {
    None: ("PK", "SK"),
    GSI_BOARDS: ("PK", "SK", f"{GSI_BOARDS}PK", f"{GSI_BOARDS}SK"),
    GSI_HISTORY: ("PK", "SK", f"{GSI_HISTORY}PK", f"{GSI_HISTORY}SK"),
}


def plain(value: Any) -> Any:
    """DynamoDB's Decimals as int (whole) or float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [plain(v) for v in value]
    return value


def _item(raw: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZE(value) for name, value in raw.items()}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    rank_offset: int  # rank of the first item minus one
    next_cursor: str | None


class Store:
    """The reads of ``table`` through ``dynamodb`` (a boto3 DynamoDB client; thread-safe), with page
    cursors made and checked by ``signer``."""

    def __init__(self, table: str, dynamodb: Any, signer: CursorSigner) -> None:
        self.table = table
        self._ddb = dynamodb
        self._signer = signer
        self._ranks: dict[tuple[int, int, str], tuple[float, int]] = {}
        self._ranks_lock = threading.Lock()

    def get(self, pk: str, sk: str) -> dict[str, Any] | None:
        raw = self._ddb.get_item(TableName=self.table, Key={"PK": {"S": pk}, "SK": {"S": sk}}).get("Item")
        return _item(raw) if raw else None

    def page(
        self,
        *,
        scope: str,
        index: str | None,
        partition: str,
        limit: int,
        page_cursor: str | None,
        sk_prefix: str | None = None,
        status: str | None = None,
    ) -> Page:
        """One descending Query of ``partition`` (on ``index``), ``limit`` items from ``page_cursor``."""
        pk_name = f"{index}PK" if index else "PK"
        sk_name = f"{index}SK" if index else "SK"
        args: dict[str, Any] = {
            "TableName": self.table,
            "ScanIndexForward": False,
            "Limit": limit + 1,  # one more than asked: tells whether another page exists
            "ExpressionAttributeNames": {"#pk": pk_name},
            "ExpressionAttributeValues": {":pk": {"S": partition}},
            "KeyConditionExpression": "#pk = :pk",
        }
        if index:
            args["IndexName"] = index
        if sk_prefix:
            args["KeyConditionExpression"] += " AND begins_with(#sk, :prefix)"
            args["ExpressionAttributeNames"]["#sk"] = sk_name
            args["ExpressionAttributeValues"][":prefix"] = {"S": sk_prefix}
        if status:
            args["FilterExpression"] = "#status = :status"
            args["ExpressionAttributeNames"]["#status"] = "status"
            args["ExpressionAttributeValues"][":status"] = {"S": status}
        attributes = KEY_ATTRIBUTES[index]
        offset = 0
        if page_cursor is not None:
            start, offset = self._signer.decode(scope, page_cursor, attributes)
            if start[pk_name] != partition:
                raise ApiError(400, "invalid_cursor", "the cursor belongs to another listing; start without one.")
            args["ExclusiveStartKey"] = {name: {"S": value} for name, value in start.items()}
        try:
            answer = self._ddb.query(**args)
        except ClientError as exc:
            if page_cursor is not None and exc.response["Error"]["Code"] == "ValidationException":
                message = "the cursor does not fit this listing; start without one."
                raise ApiError(400, "invalid_cursor", message) from None
            raise
        items = [_item(raw) for raw in answer["Items"]]
        last: dict[str, str] | None = None
        if len(items) > limit:
            items = items[:limit]
            last = {name: items[-1][name] for name in attributes}
        elif "LastEvaluatedKey" in answer:
            last = {name: value["S"] for name, value in answer["LastEvaluatedKey"].items()}
        next_cursor = self._signer.encode(scope, last, offset + len(items)) if last else None
        return Page(items=items, rank_offset=offset, next_cursor=next_cursor)

    def rank_in_race(self, race_id: int, class_id: int, score_key: str) -> int:
        """1 + how many results of the race ``(race_id, class_id)`` sort above ``score_key`` (one COUNT
        query, memoized). Only that class's board counts: the other classes of the slot are other races."""
        memo_key = (race_id, class_id, score_key)
        now = time.monotonic()
        with self._ranks_lock:
            hit = self._ranks.get(memo_key)
        if hit and hit[0] > now:
            return hit[1]
        args: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": GSI_BOARDS,
            "Select": "COUNT",
            "KeyConditionExpression": "#pk = :pk AND #sk > :sk",
            "ExpressionAttributeNames": {"#pk": f"{GSI_BOARDS}PK", "#sk": f"{GSI_BOARDS}SK"},
            "ExpressionAttributeValues": {
                ":pk": {"S": keys.race_pk(race_id, class_id)},
                ":sk": {"S": score_key},
            },
        }
        above = 0
        while True:  # a COUNT reads at most 1 MB per call; a 1,000-racer race fits in one
            answer = self._ddb.query(**args)
            above += answer["Count"]
            if "LastEvaluatedKey" not in answer:
                break
            args["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        with self._ranks_lock:
            self._ranks = {k: v for k, v in self._ranks.items() if v[0] > now}
            self._ranks[memo_key] = (now + RANK_TTL_S, above + 1)
        return above + 1
