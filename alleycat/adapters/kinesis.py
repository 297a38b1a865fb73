"""Kinesis Data Streams: the calls more than one stage makes, written once.

Every function takes the boto3 client as an argument, so tests pass a fake
(``alleycat.testing.kinesis``) or a client pointed at kinesalite.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ShardInfo:
    """One shard as ListShards describes it: its id and its parents (a split has one, a merge two)."""

    shard_id: str
    parents: tuple[str, ...]
    closed: bool  # no more records will arrive (it was split or merged)


def iter_shards(client: Any, stream: str) -> Iterator[dict[str, Any]]:
    """Every shard of ``stream`` as ListShards returns it, following ``NextToken`` to the last page."""
    kwargs: dict[str, Any] = {"StreamName": stream}
    while True:
        page = client.list_shards(**kwargs)
        yield from page["Shards"]
        token = page.get("NextToken")
        if not token:
            return
        # ListShards refuses StreamName together with NextToken
        kwargs = {"NextToken": token}


def list_shards(client: Any, stream: str) -> list[ShardInfo]:
    """The shards of ``stream``, every page of ListShards."""
    return [
        ShardInfo(
            shard_id=s["ShardId"],
            parents=tuple(p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p),
            closed="EndingSequenceNumber" in s.get("SequenceNumberRange", {}),
        )
        for s in iter_shards(client, stream)
    ]


def shard_ids(client: Any, stream: str) -> list[str]:
    return [s["ShardId"] for s in iter_shards(client, stream)]
