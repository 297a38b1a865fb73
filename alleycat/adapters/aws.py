"""boto3 clients, created once per process and region.

Endpoints and, when no region is given, the region come from boto3's own standard settings
(``AWS_ENDPOINT_URL[_<SERVICE>]``, ``AWS_REGION``): nothing here knows whether it talks to the
local stack or to AWS. Adapters take a client as an argument where tests inject one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.utils import parse_timestamp

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# A batch job (the Glue job's reconciliation) rides out a longer outage than a request handler
# should: standard mode's backoff doubles up to 20 s, so 10 attempts span about a minute.
_PATIENT = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str, region: str | None = None) -> Any:
    return boto3.session.Session().client(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]


@cache
def stream_reader(service: str, region: str | None = None) -> Any:
    """``client`` for reading a stream's records in bulk (Kinesis, DynamoDB Streams): its timestamps
    are left as the epoch seconds the service sent. botocore would build a datetime in the local
    zone for each record (dateutil's tzlocal, per record: a tenth of a backlog drain's time)."""
    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_epoch_seconds)
    return boto3.session.Session(botocore_session=session).client(  # type: ignore[call-overload]
        service, region_name=region, config=_CONFIG
    )


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return parse_timestamp(value).timestamp()  # a protocol that sends text


@cache
def resource(service: str, region: str | None = None) -> Any:
    return boto3.session.Session().resource(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]


@cache
def patient_resource(service: str, region: str | None = None) -> Any:
    """``resource`` with the batch jobs' retries (``_PATIENT``)."""
    return boto3.session.Session().resource(service, region_name=region, config=_PATIENT)  # type: ignore[call-overload]


def forget_clients() -> None:
    """Drop every cached client and resource: the next ones read the endpoints and credentials
    anew (a test or bench that moves to another stack)."""
    for factory in (client, stream_reader, resource, patient_resource):
        factory.cache_clear()
