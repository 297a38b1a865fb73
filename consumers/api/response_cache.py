"""A small in-memory cache of answers: the JSON bytes of a page, kept ``ttl_s`` seconds (LRU).

A popular leaderboard then costs one DynamoDB Query per ``ttl_s`` per API instance, and no
serialisation at all on a hit, however many clients read it. A miss is single-flight: when an
entry expires, one request rebuilds it while the others for that key are served the expired answer
(stale while revalidating, so at most ``ttl_s`` plus one query old) or, with none, wait for it.
Without that, every request in flight at expiry queried the table at once and held a worker
thread while it did: under load, latency spiked every ``ttl_s``.

``TtlCache`` keeps the DynamoDB answers behind the pages the same way (briefly, LRU): the Query of a
page is keyed by its normalised page size (``consumers.api.store.page_size``), not the client's
``limit``, so varying ``limit`` does not buy a Query per value.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from fastapi import Response
from pydantic import BaseModel

from alleycat.support import escape

PAGE_TTL_S = 2.0
PAGE_CACHE_SIZE = 1024

V = TypeVar("V")


class TtlCache(Generic[V]):
    def __init__(self, ttl_s: float = PAGE_TTL_S, size: int = PAGE_CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], V]) -> V:
        """The cached value of ``key``, or ``build()``'s, then cached (an exception is not)."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value = build()
        with self._lock:
            self._entries[key] = (now + self.ttl_s, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value


class ResponseCache:
    def __init__(self, ttl_s: float = PAGE_TTL_S, size: int = PAGE_CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def json(self, key: Hashable, build: Callable[[], BaseModel]) -> Response:
        """The cached answer for ``key``, or ``build()``'s (by alias, camelCase), then cached."""
        with self._lock:
            hit = self._entries.get(key)
            building = self._building.setdefault(key, threading.Lock())
        if hit and hit[0] > time.monotonic():
            return Response(hit[1], media_type="application/json")
        # expired or absent: one request builds; while it does, the others serve the expired
        # answer if there is one (stale while revalidating), else wait for the new one
        if hit and not building.acquire(blocking=False):
            return Response(hit[1], media_type="application/json")
        if not hit:
            building.acquire()
        try:
            with self._lock:
                again = self._entries.get(key)
            if again and again[0] > time.monotonic():  # built while we waited
                body = again[1]
            else:
                # names are data: escaped so the JSON is also safe inside a page
                body = escape.json_for_html(build().model_dump_json(by_alias=True).encode())
                self._store(key, body)
        finally:
            building.release()
        return Response(body, media_type="application/json")

    def _store(self, key: Hashable, body: bytes) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl_s, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                evicted, _ = self._entries.popitem(last=False)
                self._building.pop(evicted, None)
