"""boto3 clients, created once per process.

Endpoints come from boto3's own ``AWS_ENDPOINT_URL[_<SERVICE>]`` settings: nothing here knows
whether it talks to the local stack or to AWS.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from alleycat.settings import Settings

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str, region: str | None = None) -> Any:
    return boto3.session.Session().client(service, region_name=region or Settings.from_env().region, config=_CONFIG)


@cache
def resource(service: str, region: str | None = None) -> Any:
    return boto3.session.Session().resource(service, region_name=region or Settings.from_env().region, config=_CONFIG)
