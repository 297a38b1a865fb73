"""The API's answer cache: fresh hits, single-flight rebuilds, stale answers while one rebuilds."""

from __future__ import annotations

import threading

from pydantic import BaseModel

from consumers.api.response_cache import ResponseCache


class Page(BaseModel):
    n: int


def test_a_fresh_answer_is_served_without_building() -> None:
    cache = ResponseCache(ttl_s=60)
    builds: list[int] = []

    def build() -> Page:
        builds.append(1)
        return Page(n=len(builds))

    assert [cache.json("k", build).body for _ in range(3)] == [b'{"n":1}'] * 3


def test_while_one_request_rebuilds_the_others_get_the_expired_answer() -> None:
    cache = ResponseCache(ttl_s=0)  # every answer is expired at once
    cache.json("k", lambda: Page(n=1))
    started, release = threading.Event(), threading.Event()

    def slow() -> Page:
        started.set()
        release.wait(5)
        return Page(n=2)

    rebuild = threading.Thread(target=cache.json, args=("k", slow))
    rebuild.start()
    assert started.wait(5)
    # the rebuild is in flight: a second request must not build (it would raise) nor wait
    assert cache.json("k", lambda: (_ for _ in ()).throw(AssertionError("built twice"))).body == b'{"n":1}'
    release.set()
    rebuild.join(5)
    assert cache.json("k", lambda: Page(n=3)).body == b'{"n":3}'


def test_without_an_answer_concurrent_requests_wait_for_one_build() -> None:
    cache = ResponseCache(ttl_s=60)
    builds: list[int] = []
    gate = threading.Event()

    def build() -> Page:
        builds.append(1)
        gate.wait(5)
        return Page(n=7)

    answers: list[bytes] = []
    threads = [threading.Thread(target=lambda: answers.append(bytes(cache.json("k", build).body))) for _ in range(5)]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join(5)
    assert answers == [b'{"n":7}'] * 5
    assert len(builds) == 1
