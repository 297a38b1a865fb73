"""A small in-memory cache of answers: the JSON bytes of a page, kept ``ttl_s`` seconds (LRU).

A popular leaderboard then costs one DynamoDB Query per ``ttl_s`` per API instance, and no
serialisation at all on a hit, however many clients read it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from fastapi import Response
from pydantic import BaseModel

PAGE_TTL_S = 2.0
PAGE_CACHE_SIZE = 1024


class ResponseCache:
    def __init__(self, ttl_s: float = PAGE_TTL_S, size: int = PAGE_CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def json(self, key: Hashable, build: Callable[[], BaseModel]) -> Response:
        """The cached answer for ``key``, or ``build()``'s (by alias, camelCase), then cached."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(key)
        if hit and hit[0] > now:
            return Response(hit[1], media_type="application/json")
        body = build().model_dump_json(by_alias=True).encode()
        with self._lock:
            self._entries[key] = (now + self.ttl_s, body)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return Response(body, media_type="application/json")
