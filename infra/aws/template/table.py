"""The DynamoDB race table, declared from ``alleycat.resources.table_definition`` (the same
definition the local stack creates), and the actions its readers and writers get."""

from __future__ import annotations

from typing import Any

from alleycat.resources import TTL_ATTRIBUTE, table_definition
from infra.aws.template.intrinsics import att, ref, sub

TABLE = table_definition("unused")
INDEX_NAMES = [g["IndexName"] for g in TABLE["GlobalSecondaryIndexes"]]

DDB_STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
DDB_WRITE = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:Query"]
DDB_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]


def read_ceiling() -> dict[str, Any]:
    """On-demand's maximum read throughput (a parameter): a cost ceiling on the table and on each
    index, so no request pattern can run up an unbounded read bill; beyond it reads are throttled."""
    return {"MaxReadRequestUnits": ref("TableMaxReadRequestUnits")}


def table_resource() -> dict[str, Any]:
    spec = TABLE["StreamSpecification"]
    assert spec["StreamEnabled"], "the consumers need the table's stream"
    assert TABLE["BillingMode"] == "PAY_PER_REQUEST", "the read ceiling is on-demand's"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BillingMode": TABLE["BillingMode"],
            "AttributeDefinitions": TABLE["AttributeDefinitions"],
            "KeySchema": TABLE["KeySchema"],
            "GlobalSecondaryIndexes": [
                {**g, "OnDemandThroughput": read_ceiling()} for g in TABLE["GlobalSecondaryIndexes"]
            ],
            "OnDemandThroughput": read_ceiling(),
            "StreamSpecification": {"StreamViewType": spec["StreamViewType"]},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": ref("DataKey")},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    }


def table_arns() -> list[dict[str, Any]]:
    """The table and its indexes (the API and the consumers query both)."""
    return [att("Table"), *(sub(f"${{Table.Arn}}/index/{name}") for name in INDEX_NAMES)]
