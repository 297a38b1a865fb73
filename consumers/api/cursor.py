"""Opaque page cursors: base64url of the DynamoDB LastEvaluatedKey and the rank offset, signed.

A cursor is ``base64url(mac[16] || json({"k": key, "r": rank_offset}))``. The MAC (HMAC-SHA256)
covers the listing the cursor belongs to (for a race leaderboard: ``race_scope(raceId, classId)``), so an edited cursor,
or one from another listing, is refused with a 400 before it reaches DynamoDB. The key's attribute
names are checked too, so even a correctly signed but malformed key cannot make a query fail.

The MAC key: ``ALLEYCAT_CURSOR_KEY``; else the Secrets Manager secret named by
``ALLEYCAT_CURSOR_KEY_SECRET_ARN`` (the AWS template's CursorKeySecret), read once per process;
else, locally, a fixed key (cursors still detect edits, but anyone could forge one).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from functools import cache

from alleycat.adapters import aws
from consumers.api.errors import ApiError

MAX_CURSOR_CHARS = 2048
_MAC_BYTES = 16
_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+$")


LOCAL_KEY = "alleycat-local-cursor-key"


@cache
def _secret() -> bytes:
    if key := os.environ.get("ALLEYCAT_CURSOR_KEY"):
        return key.encode()
    if arn := os.environ.get("ALLEYCAT_CURSOR_KEY_SECRET_ARN"):
        return aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"].encode()
    return LOCAL_KEY.encode()


def race_scope(race_id: int, class_id: int) -> str:
    """The listing of a race's leaderboard: a race is (raceId, classId), so a cursor of one class's
    board is refused on another class's board of the same raceId."""
    return f"race:{race_id}:{class_id}"


def _mac(scope: str, raw: bytes) -> bytes:
    return hmac.new(_secret(), scope.encode() + b"\n" + raw, hashlib.sha256).digest()[:_MAC_BYTES]


def encode(scope: str, key: dict[str, str], rank_offset: int) -> str:
    raw = json.dumps({"k": key, "r": rank_offset}, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(_mac(scope, raw) + raw).decode().rstrip("=")


def _invalid(why: str) -> ApiError:
    return ApiError(400, "invalid_cursor", f"the cursor {why}; pass the nextCursor of the previous page unchanged.")


def decode(scope: str, cursor: str, attributes: tuple[str, ...]) -> tuple[dict[str, str], int]:
    """The key and rank offset of a cursor made by ``encode`` for the same ``scope``; else a 400."""
    if len(cursor) > MAX_CURSOR_CHARS or not _ALPHABET.match(cursor):
        raise _invalid("is not a base64url string of at most 2048 characters")
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise _invalid("is not valid base64url") from None
    mac, raw = blob[:_MAC_BYTES], blob[_MAC_BYTES:]
    if not hmac.compare_digest(mac, _mac(scope, raw)):
        raise _invalid("was altered or belongs to another listing")
    try:
        doc = json.loads(raw)
    except ValueError:
        raise _invalid("is corrupt") from None
    key, offset = (doc.get("k"), doc.get("r")) if isinstance(doc, dict) else (None, None)
    if (
        not isinstance(key, dict)
        or set(key) != set(attributes)
        or not all(isinstance(v, str) and 0 < len(v) <= 1024 for v in key.values())
        or type(offset) is not int
        or offset < 0
    ):
        raise _invalid("is corrupt")
    return key, offset
