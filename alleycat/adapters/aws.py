"""boto3 clients, created once per process and region, from one session (a stream reader has a
botocore session of its own, which carries its parsers).

Creation is under a lock: a client costs 0.07-0.3 s of CPU (its service model is read and built),
and the local event source mappings' pollers all ask for theirs at their first invoke. Unlocked,
8 threads asking at once made 8 DynamoDB resources (0.69 s against 0.07 s for one), and each
boto3 ``Session`` read the models again. boto3's sessions are not thread-safe; the lock covers
that as well. The clients themselves are, and are shared.

Endpoints and, when no region is given, the region come from boto3's own standard settings
(``AWS_ENDPOINT_URL[_<SERVICE>]``, ``AWS_REGION``): nothing here knows whether it talks to the
local stack or to AWS. Adapters take a client as an argument where tests inject one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache, wraps
from typing import Any

import boto3
import botocore.session
import msgspec
from botocore.config import Config
from botocore.parsers import JSONParser, ResponseParserFactory
from botocore.utils import parse_timestamp

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# A batch job (the Glue job's reconciliation) rides out a longer outage than a request handler
# should: standard mode's backoff doubles up to 20 s, so 10 attempts span about a minute.
_PATIENT = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=30)


_LOCK = threading.Lock()


class _Once:
    """A factory of ``(service, region)``, called once per pair and process (under ``_LOCK``)."""

    def __init__(self, factory: Callable[[str, str | None], Any]) -> None:
        self._cached = cache(factory)
        wraps(factory)(self)

    def __call__(self, service: str, region: str | None = None) -> Any:
        with _LOCK:
            return self._cached(service, region)

    def cache_clear(self) -> None:
        """Drop the made ones (``forget_clients`` calls it under ``_LOCK``)."""
        self._cached.cache_clear()


@cache
def _session() -> boto3.session.Session:
    """The process's session: its loader reads each service model once for all its clients."""
    return boto3.session.Session()


@_Once
def client(service: str, region: str | None = None) -> Any:
    return _session().client(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]


@_Once
def stream_reader(service: str, region: str | None = None) -> Any:
    """``client`` for reading a stream's records in bulk (Kinesis, DynamoDB Streams): its timestamps
    are left as the epoch seconds the service sent. botocore would build a datetime in the local
    zone for each record (dateutil's tzlocal, per record: a tenth of a backlog drain's time). For
    Kinesis, a GetRecords answer is decoded by msgspec, each record's ``Data`` left as the base64
    text sent (``KinesisRecordsParser``)."""
    session = botocore.session.get_session()
    if service == "kinesis":
        session.register_component("response_parser_factory", _KinesisRecordsParsers())
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_epoch_seconds)
    return boto3.session.Session(botocore_session=session).client(  # type: ignore[call-overload]
        service, region_name=region, config=_CONFIG
    )


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    return parse_timestamp(value).timestamp()  # a protocol that sends text


class KinesisRecordsParser(JSONParser):
    """botocore's parser of Kinesis' JSON protocol, except that a GetRecords answer is decoded by
    msgspec into what botocore gives but for each record's ``Data``, which stays the base64 text
    the service sent (arrival times are epoch seconds, the rest as sent). botocore walks every
    member of every record in Python, which was a quarter of the consumer's time in a backlog
    drain; and the readers (the local event source mappings) put the record in a Lambda event,
    which carries that same base64 text, so decoding it here only to encode it again would be
    wasted. Errors and the other operations are botocore's own."""

    # botocore's own hook between the HTTP body and the parsed answer (its type stubs leave it out)
    def _handle_json_body(self, raw_body: bytes, shape: Any) -> Any:
        if shape is None or shape.name != "GetRecordsOutput" or not raw_body:
            return super()._handle_json_body(raw_body, shape)  # type: ignore[misc]
        parsed = msgspec.json.decode(raw_body)
        for record in parsed.get("Records", ()):
            record["ApproximateArrivalTimestamp"] = _epoch_seconds(record["ApproximateArrivalTimestamp"])
        return parsed


class _KinesisRecordsParsers(ResponseParserFactory):
    """A Kinesis stream reader's parsers: ``KinesisRecordsParser``, timestamps as epoch seconds."""

    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "json":
            return KinesisRecordsParser(timestamp_parser=_epoch_seconds)
        return super().create_parser(protocol_name)


@_Once
def resource(service: str, region: str | None = None) -> Any:
    return _session().resource(service, region_name=region, config=_CONFIG)  # type: ignore[call-overload]


@_Once
def patient_resource(service: str, region: str | None = None) -> Any:
    """``resource`` with the batch jobs' retries (``_PATIENT``)."""
    return _session().resource(service, region_name=region, config=_PATIENT)  # type: ignore[call-overload]


def forget_clients() -> None:
    """Drop every cached client and resource: the next ones read the endpoints and credentials
    anew (a test or bench that moves to another stack)."""
    with _LOCK:
        for factory in (client, stream_reader, resource, patient_resource):
            factory.cache_clear()
        _session.cache_clear()
