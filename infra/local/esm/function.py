"""Calling a handler in-process the way Lambda does: import ``MappingDef.handler``, pass the event
and a context, enforce the timeout (as a failure after the fact), pass the response through JSON.

The response goes through msgspec's JSON, not the standard library's: a tumbling window's state
(up to 1 MB) comes back on every invoke, and the round trip was a quarter of the consumer's time
in a backlog drain. Decimals are numbers, as Lambda's own marshaller writes them. Where it differs:
it also writes what that marshaller refuses (datetime, UUID, bytes, sets) instead of failing, and a
NaN as null."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from alleycat.resources import KafkaMappingDef, MappingDef
from infra.local.esm.delivery import FunctionError
from infra.local.esm.shapes import LambdaContext

log = logging.getLogger("alleycat.esm")

Handler = Callable[[dict[str, Any], Any], Any]
_ENCODER = msgspec.json.Encoder(decimal_format="number")


def load_handler(path: str) -> Handler:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


class Function:
    def __init__(self, mapping: MappingDef | KafkaMappingDef, region: str, handler: Handler | None = None) -> None:
        self.mapping = mapping
        self.region = region
        self.handler = handler or load_handler(mapping.handler)
        self.invocations = 0

    def __call__(self, event: dict[str, Any]) -> Any:
        context = LambdaContext(self.mapping.name, self.mapping.timeout_s, self.mapping.memory_mb, self.region)
        started = time.monotonic()
        self.invocations += 1
        response = self.handler(event, context)
        elapsed = time.monotonic() - started
        if elapsed > self.mapping.timeout_s:
            raise FunctionError(f"Task timed out after {elapsed:.2f} seconds")
        log.debug(
            "invoked",
            extra={
                "function": self.mapping.name,
                "requestId": context.aws_request_id,
                "records": len(event.get("Records", ())),
                "durationMs": round(elapsed * 1000, 1),
            },
        )
        return msgspec.json.decode(_ENCODER.encode(response)) if response is not None else None
