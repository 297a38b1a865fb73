"""The API's page cursors, answer cache and live fan-out, without a server."""

from __future__ import annotations

import asyncio
import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from alleycat.domain.events import RaceKey
from alleycat.domain.keys import live_topic
from alleycat.errors import ConfigError
from alleycat.settings import Settings
from consumers.api import cursor, response_cache
from consumers.api.errors import ApiError
from consumers.api.live import IOT_TOPIC_HINT, LiveHub

ATTRS = ("PK", "SK", "GSI1PK", "GSI1SK")
KEY = {"PK": "RACE#5#3", "SK": "RESULT#00000042", "GSI1PK": "RACE#5#3", "GSI1SK": "0000000123000#99999957"}
RACE = cursor.race_scope(5, 3)  # race 5 of class 3
SIGNER = cursor.CursorSigner(b"a test key of thirty-two bytes..")


def test_round_trip() -> None:
    token = SIGNER.encode(RACE, KEY, 300)
    assert SIGNER.decode(RACE, token, ATTRS) == (KEY, 300)


@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused(position: int, bit: int) -> None:
    raw = bytearray(base64.urlsafe_b64decode(SIGNER.encode(RACE, KEY, 300) + "=="))
    raw[position % len(raw)] ^= 1 << bit
    with pytest.raises(ApiError) as refused:
        SIGNER.decode(RACE, base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="), ATTRS)
    assert (refused.value.status, refused.value.code) == (400, "invalid_cursor")


@pytest.mark.parametrize("token", ["", "!!", "a" * 3000, "AAAA", "not base64?"])
def test_garbage_is_refused(token: str) -> None:
    with pytest.raises(ApiError):
        SIGNER.decode(RACE, token, ATTRS)


def test_other_listing_and_wrong_key_shape_are_refused() -> None:
    with pytest.raises(ApiError):
        SIGNER.decode(cursor.race_scope(6, 3), SIGNER.encode(RACE, KEY, 300), ATTRS)
    with pytest.raises(ApiError):  # the same raceId in another class is another race
        SIGNER.decode(cursor.race_scope(5, 4), SIGNER.encode(RACE, KEY, 300), ATTRS)
    with pytest.raises(ApiError):
        SIGNER.decode(RACE, SIGNER.encode(RACE, {"PK": "RACE#5#3", "SK": "x"}, 0), ATTRS)


def test_key_from_settings_or_the_templates_secret() -> None:
    arn = "arn:aws:secretsmanager:eu-west-1:1:secret:cursor"

    class SecretsManager:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            assert SecretId == arn
            return {"SecretString": "from-secrets-manager-" + "x" * 32}

    def no_client() -> SecretsManager:
        raise AssertionError("Secrets Manager is asked only when the key is a secret")

    from_secret = cursor.signing_key(Settings(cursor_key_secret_arn=arn), SecretsManager, fail_closed=True)
    assert from_secret == b"from-secrets-manager-" + b"x" * 32
    token = cursor.CursorSigner(from_secret).encode(RACE, KEY, 0)
    another_key = "another-" + "y" * 32
    another = cursor.signing_key(
        Settings(cursor_key=another_key, cursor_key_secret_arn=arn), no_client, fail_closed=True
    )
    assert another == another_key.encode()
    with pytest.raises(ApiError):  # signed with another key
        cursor.CursorSigner(another).decode(RACE, token, ATTRS)


def test_cursor_key_fails_closed_on_lambda_and_is_random_locally() -> None:
    """No configured key: Lambda refuses to start (no public fallback key to forge cursors with); a
    local process outside a stack signs with a random key of its own. A short key is refused."""

    def no_client() -> object:
        raise AssertionError("no secret is named")

    class EmptySecret:
        def get_secret_value(self, SecretId: str) -> dict[str, str]:
            return {"SecretString": ""}

    with pytest.raises(ConfigError, match="ALLEYCAT_CURSOR_KEY_SECRET_ARN"):
        cursor.signing_key(Settings(), no_client, fail_closed=True)
    with pytest.raises(ConfigError, match="at least 32"):
        cursor.signing_key(Settings(cursor_key_secret_arn="arn:s"), EmptySecret, fail_closed=True)
    with pytest.raises(ConfigError, match="at least 32"):
        cursor.signing_key(Settings(cursor_key="short"), no_client, fail_closed=False)
    one, other = (cursor.signing_key(Settings(), no_client, fail_closed=False) for _ in range(2))
    assert len(one) == 32 and one != other


class Doc(BaseModel):
    n: int


def test_response_cache_keeps_answers_for_its_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(response_cache.time, "monotonic", lambda: now[0])
    cache = response_cache.ResponseCache(ttl_s=2.0, size=2)
    builds = []

    def build(n: int) -> Doc:
        builds.append(n)
        return Doc(n=n)

    assert cache.json("a", lambda: build(1)).body == b'{"n":1}'
    assert cache.json("a", lambda: build(2)).body == b'{"n":1}'  # within the TTL: the cached bytes
    now[0] += 2.5
    assert cache.json("a", lambda: build(3)).body == b'{"n":3}'  # expired: built again
    cache.json("b", lambda: build(4))
    cache.json("c", lambda: build(5))  # size 2: "a" is evicted
    assert cache.json("a", lambda: build(6)).body == b'{"n":6}'
    assert builds == [1, 3, 4, 5, 6]


def test_live_fan_out_is_per_race_and_class() -> None:
    """All classes race in every slot: a class's stream gets only that class's standings."""

    async def scenario() -> None:
        hub = LiveHub(max_subscribers=10)
        mine, sibling = hub.subscribe(RaceKey(5, 3)), hub.subscribe(RaceKey(5, 4))
        assert hub.publish(RaceKey(5, 3), {"raceId": 5, "classId": 3}) == 1
        assert hub.publish(RaceKey(6, 3), {"raceId": 6, "classId": 3}) == 0
        assert mine.get_nowait() == {"raceId": 5, "classId": 3}
        assert mine.empty() and sibling.empty()
        hub.unsubscribe(RaceKey(5, 3), mine)
        assert hub.publish(RaceKey(5, 3), {"raceId": 5, "classId": 3}) == 0
        assert hub.publish(RaceKey(5, 4), {"raceId": 5, "classId": 4}) == 1
        assert sibling.get_nowait() == {"raceId": 5, "classId": 4}

    asyncio.run(scenario())


def test_the_topic_named_on_lambda_is_the_publishers() -> None:
    assert IOT_TOPIC_HINT.replace("<raceId>", "5").replace("<classId>", "3") == live_topic(5, 3)
