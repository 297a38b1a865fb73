"""Opaque page cursors: base64url of the DynamoDB LastEvaluatedKey and the rank offset, signed.

A cursor is ``base64url(mac[16] || json({"k": key, "r": rank_offset}))``. The MAC (HMAC-SHA256)
covers the listing the cursor belongs to (for a race leaderboard: ``race_scope(raceId, classId)``), so an edited cursor,
or one from another listing, is refused with a 400 before it reaches DynamoDB. The key's attribute
names are checked too, so even a correctly signed but malformed key cannot make a query fail.

The MAC key (``signing_key``): ``Settings.cursor_key`` (the local stack generates one per stack,
``infra.local.environment``); else the Secrets Manager secret named by
``Settings.cursor_key_secret_arn`` (the AWS template's CursorKeySecret). With neither, or a secret
too short to be one, the Lambda handler fails closed (``ConfigError``: no answer beats forgeable
cursors); a local process outside a stack gets a random key of its own. There is no public
fallback key. The app is built once per process, so the secret is read once per process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import secrets as random_keys
from collections.abc import Callable
from typing import Any

from alleycat.errors import ConfigError
from alleycat.settings import CURSOR_KEY, CURSOR_KEY_SECRET_ARN, Settings
from consumers.api.errors import ApiError

log = logging.getLogger("alleycat.api")

MAX_CURSOR_CHARS = 2048
_MAC_BYTES = 16
_ALPHABET = re.compile(r"^[A-Za-z0-9_-]+$")

MIN_KEY_CHARS = 32  # the template's secret has 48


def signing_key(settings: Settings, secrets: Callable[[], Any], *, fail_closed: bool) -> bytes:
    """The MAC key these settings name. ``secrets`` builds a Secrets Manager client; it is called
    only when the key is a secret, so the local stack never needs one. ``fail_closed`` (Lambda):
    raise ``ConfigError`` rather than sign with a key nobody configured."""
    if settings.cursor_key:
        key = settings.cursor_key
    elif settings.cursor_key_secret_arn:
        key = str(secrets().get_secret_value(SecretId=settings.cursor_key_secret_arn).get("SecretString") or "")
    elif fail_closed:
        raise ConfigError(f"no cursor key: set {CURSOR_KEY_SECRET_ARN} (the stack's CursorKeySecret) or {CURSOR_KEY}")
    else:
        log.warning("no cursor key configured: this process signs with a random key of its own")
        return random_keys.token_bytes(32)
    if len(key) < MIN_KEY_CHARS:
        raise ConfigError(f"the cursor key is {len(key)} characters; at least {MIN_KEY_CHARS} are needed")
    return key.encode()


def race_scope(race_id: int, class_id: int) -> str:
    """The listing of a race's leaderboard: a race is (raceId, classId), so a cursor of one class's
    board is refused on another class's board of the same raceId."""
    return f"race:{race_id}:{class_id}"


def _invalid(why: str) -> ApiError:
    return ApiError(400, "invalid_cursor", f"the cursor {why}; pass the nextCursor of the previous page unchanged.")


class CursorSigner:
    """Makes and checks the cursors of every listing with one MAC key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, scope: str, raw: bytes) -> bytes:
        return hmac.new(self._key, scope.encode() + b"\n" + raw, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, scope: str, key: dict[str, str], rank_offset: int) -> str:
        raw = json.dumps({"k": key, "r": rank_offset}, separators=(",", ":"), sort_keys=True).encode()
        return base64.urlsafe_b64encode(self._mac(scope, raw) + raw).decode().rstrip("=")

    def decode(self, scope: str, cursor: str, attributes: tuple[str, ...]) -> tuple[dict[str, str], int]:
        """The key and rank offset of a cursor made by ``encode`` for the same ``scope``; else a 400."""
        if len(cursor) > MAX_CURSOR_CHARS or not _ALPHABET.match(cursor):
            raise _invalid("is not a base64url string of at most 2048 characters")
        try:
            blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise _invalid("is not valid base64url") from None
        mac, raw = blob[:_MAC_BYTES], blob[_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(scope, raw)):
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
