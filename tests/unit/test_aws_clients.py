"""``alleycat.adapters.aws``: each client is made once per process, even when threads ask together."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from alleycat.adapters import aws


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    aws.forget_clients()
    yield
    aws.forget_clients()


def _together(make: Any, threads: int = 8) -> list[Any]:
    """``make()`` from ``threads`` threads released at the same moment."""
    start = threading.Barrier(threads)

    def one(_: int) -> Any:
        start.wait()
        return make()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(threads)))


def test_threads_asking_at_once_get_one_resource() -> None:
    made = _together(lambda: aws.resource("dynamodb", "us-east-1"))
    assert len({id(r) for r in made}) == 1


def test_clients_of_a_process_share_one_session() -> None:
    dynamodb, s3 = aws.client("dynamodb", "us-east-1"), aws.client("s3", "us-east-1")
    assert dynamodb is aws.client("dynamodb", "us-east-1")
    # one botocore session, so one loader: each service model is read once for the process
    assert dynamodb._loader is s3._loader is aws.resource("dynamodb", "us-east-1").meta.client._loader


def test_forget_clients_makes_new_ones() -> None:
    before = aws.client("dynamodb", "us-east-1")
    aws.forget_clients()
    after = aws.client("dynamodb", "us-east-1")
    assert after is not before
    assert after._loader is not before._loader
