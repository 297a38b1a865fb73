"""Signing in to Amazon MSK with IAM: SASL/OAUTHBEARER tokens from AWS's own signer
(``aws-msk-iam-sasl-signer-python``), for kafka-python.

A token is a presigned ``kafka-cluster:Connect`` request made with the default AWS credentials (the
environment, a profile, the instance's or task's role), valid for 15 minutes. kafka-python asks for
one at every connection; the provider hands out the same token until a minute before it expires.
The cluster's policy decides what the signed-in principal may do (``ProducerPolicy`` in the
template: connect, describe the topic, write to it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
from kafka.net.sasl.oauth import AbstractTokenProvider

REFRESH_BEFORE_MS = 60_000  # a token this close to its expiry is replaced

Signer = Callable[[str], tuple[str, int]]  # region -> (token, expiry in epoch ms)


class MskIamTokens(AbstractTokenProvider):
    def __init__(
        self,
        region: str,
        sign: Signer = MSKAuthTokenProvider.generate_auth_token,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.region = region
        self._sign = sign
        self._clock = clock
        self._token: str | None = None
        self._expires_ms = 0

    def token(self) -> str:
        if self._token is None or self._clock() * 1000 >= self._expires_ms - REFRESH_BEFORE_MS:
            self._token, self._expires_ms = self._sign(self.region)
        return self._token


def sign_in_settings(region: str) -> dict[str, object]:
    """kafka-python's settings for an MSK cluster with IAM access control (its port 9098, TLS)."""
    return {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "OAUTHBEARER",
        "sasl_oauth_token_provider": MskIamTokens(region),
    }
