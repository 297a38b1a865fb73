"""Test data for the API: random finished scores, and a quick parallel writer for many items (the
items themselves come from the writers' own functions in alleycat.adapters.race_items)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from alleycat.adapters import aws
from alleycat.domain.events import MAX_RACER_ID
from alleycat.domain.scoring import RacerScore
from alleycat.settings import Settings

_SERIALIZE = TypeSerializer().serialize


def random_scores(
    rng: random.Random, class_id: int, racers: int, racer_ids: list[int] | None = None
) -> list[RacerScore]:
    """``racers`` finished scores; some totals repeat, so ties are broken by racerId."""
    ids = racer_ids or rng.sample(range(MAX_RACER_ID + 1), racers)
    scores = []
    for racer_id in ids:
        score = RacerScore(racer_id, f"racer {racer_id}", class_id)
        for second in range(1, rng.randint(2, 6)):
            score.add(second, rng.choice((150_000, 200_500, 250_000, rng.randint(100_000, 400_000))))
        score.finished = True
        scores.append(score)
    return scores


def leading_scores(class_id: int, racer_ids: list[int]) -> list[RacerScore]:
    """Finished scores that beat every score of ``random_scores`` (at most 5 s of 400 W each): a board
    that merged these with another race would change that race's ranks."""
    scores = []
    for i, racer_id in enumerate(racer_ids):
        score = RacerScore(racer_id, f"racer {racer_id}", class_id)
        for second in range(1, 7):
            score.add(second, 450_000 + 1_000 * i)
        score.finished = True
        scores.append(score)
    return scores


def _write_batches(table: str, items: list[dict[str, Any]]) -> None:
    client = aws.client("dynamodb")  # clients are thread-safe
    for start in range(0, len(items), 25):
        requests = [
            {"PutRequest": {"Item": {k: _SERIALIZE(v) for k, v in i.items()}}} for i in items[start : start + 25]
        ]
        while requests:
            unprocessed = client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = unprocessed.get(table, [])


def put_items(settings: Settings, items: list[dict[str, Any]], writers: int = 4) -> None:
    """BatchWriteItem in ``writers`` threads (DynamoDB Local is quicker with a few requests in flight)."""
    chunks = [items[i::writers] for i in range(writers)]
    with ThreadPoolExecutor(writers) as pool:
        list(pool.map(lambda chunk: _write_batches(settings.table, chunk), chunks))
