"""The API's reads of the single table: each listing is one Query, each item one GetItem (a
racer's history included: ranks are stored on the RESULT items when a race completes).

The DynamoDB client is injected (built at the edge, ``alleycat.adapters.aws.client``), and so is the
cursor signer.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from alleycat.resources import GSI_BOARDS, GSI_HISTORY
from consumers.api.cursor import CursorSigner
from consumers.api.errors import ApiError
from consumers.api.response_cache import TtlCache

# What a page's Query asks DynamoDB for: the client's ``limit`` rounded up to one of these, and the
# answer cut to ``limit``. The Query (and its short-lived cache entry) is then shared by every
# ``limit`` up to its size, so varying ``limit`` cannot buy a Query per value.
PAGE_SIZES = (10, 20, 50, 100, 200, 500, 1000)


def page_size(limit: int) -> int:
    return next((size for size in PAGE_SIZES if size >= limit), limit)


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
        self._queries: TtlCache[dict[str, Any]] = TtlCache()

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
        """``limit`` items of ``partition`` (on ``index``), descending, from ``page_cursor``: one Query
        of ``page_size(limit)`` items (cached briefly, shared by the limits it covers), cut to ``limit``."""
        size = page_size(limit)
        pk_name = f"{index}PK" if index else "PK"
        sk_name = f"{index}SK" if index else "SK"
        args: dict[str, Any] = {
            "TableName": self.table,
            "ScanIndexForward": False,
            "Limit": size + 1,  # one more than asked: tells whether another page exists
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
        key = (index, partition, sk_prefix, status, page_cursor, size)
        try:
            answer = self._queries.get(key, lambda: self._ddb.query(**args))
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
