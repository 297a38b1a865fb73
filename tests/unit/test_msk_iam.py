"""Signing in to Amazon MSK with IAM: the token provider reuses a token until shortly before it
expires, and the producer gets TLS and OAUTHBEARER with it (the signer itself is AWS's library;
there is no MSK here to sign in to)."""

from __future__ import annotations

from kafka.net.sasl.oauth import AbstractTokenProvider

from producers.kafka import _producer
from producers.msk_iam import REFRESH_BEFORE_MS, MskIamTokens, sign_in_settings


class Signer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, region: str) -> tuple[str, int]:
        self.calls.append(region)
        return f"token-{len(self.calls)}", 900_000  # valid until epoch ms 900,000


def test_a_token_is_reused_until_a_minute_before_it_expires() -> None:
    now = [0.0]
    sign = Signer()
    tokens = MskIamTokens("eu-west-1", sign=sign, clock=lambda: now[0])
    assert isinstance(tokens, AbstractTokenProvider)  # kafka-python refuses any other
    assert tokens.token() == tokens.token() == "token-1"
    now[0] = (900_000 - REFRESH_BEFORE_MS - 1) / 1000
    assert tokens.token() == "token-1"
    now[0] = (900_000 - REFRESH_BEFORE_MS) / 1000
    assert tokens.token() == "token-2" and sign.calls == ["eu-west-1", "eu-west-1"]


def test_the_producer_signs_in_with_tls_and_oauthbearer() -> None:
    made: list[dict[str, object]] = []
    _producer(lambda **config: made.append(config), "b-1:9098", 0, 3, **sign_in_settings("eu-west-1"))
    (config,) = made
    assert config["security_protocol"] == "SASL_SSL" and config["sasl_mechanism"] == "OAUTHBEARER"
    provider = config["sasl_oauth_token_provider"]
    assert isinstance(provider, MskIamTokens) and provider.region == "eu-west-1"
    assert config["acks"] == "all" and config["enable_idempotence"] is True  # the rest as without IAM
    made.clear()
    _producer(lambda **config: made.append(config), "127.0.0.1:9092", 0, 3)
    assert "security_protocol" not in made[0]
