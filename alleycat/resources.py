"""Definitions of the managed resources, shared by both wirings.

The local stack creates these (``infra/local``), and the AWS template is checked against them
(``tests/unit/test_template.py``), so local and AWS settings cannot drift.
"""

from __future__ import annotations

from typing import Any

STREAM_RETENTION_HOURS = 24
TTL_ATTRIBUTE = "expiresAt"
LIVE_TTL_SECONDS = 24 * 3600

GSI_BOARDS = "GSI1"  # leaderboards: a race's final results, a class's all-time bests
GSI_HISTORY = "GSI2"  # a racer's races


def table_definition(table_name: str) -> dict[str, Any]:
    """CreateTable arguments of the single table (keys in alleycat.domain.keys)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": "S"}
            for name in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")
        ],
        "KeySchema": [
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": f"{index}PK", "KeyType": "HASH"},
                    {"AttributeName": f"{index}SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in (GSI_BOARDS, GSI_HISTORY)
        ],
        "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
