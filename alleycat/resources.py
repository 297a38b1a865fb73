"""Definitions of the managed resources, shared by both wirings.

The local stack creates these (``infra/local``), and the AWS template is checked against them
(``tests/unit/test_template.py``), so local and AWS settings cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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


# --- Event source mappings: the Lambda functions and what invokes them -------------------------
# The local runtime (infra/local/esm) runs exactly these; the AWS template is checked against them.


@dataclass(frozen=True)
class MappingDef:
    """One Lambda function and its event source mapping (AWS names in the comments)."""

    name: str  # the function's logical name (template resource "<Name>Function")
    handler: str  # "module.function", the same string as the template's Handler
    source: Literal["kinesis", "dynamodb"]  # the Kinesis stream, or the table's DynamoDB stream
    batch_size: int  # BatchSize
    max_batching_window_s: int  # MaximumBatchingWindowInSeconds
    starting_position: Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]  # StartingPosition
    maximum_retry_attempts: int  # MaximumRetryAttempts (-1: until the record expires)
    maximum_record_age_s: int  # MaximumRecordAgeInSeconds (-1: no limit)
    bisect_on_error: bool = True  # BisectBatchOnFunctionError
    report_batch_item_failures: bool = True  # FunctionResponseTypes: [ReportBatchItemFailures]
    parallelization_factor: int = 1  # ParallelizationFactor
    tumbling_window_s: int | None = None  # TumblingWindowInSeconds
    timeout_s: int = 60  # the function's Timeout
    memory_mb: int = 512  # the function's MemorySize


MAPPINGS: tuple[MappingDef, ...] = (
    MappingDef(
        name="Aggregator",
        handler="consumers.aggregator.handler",
        source="kinesis",
        batch_size=1000,
        max_batching_window_s=1,
        starting_position="TRIM_HORIZON",
        maximum_retry_attempts=10,
        maximum_record_age_s=3600,
        tumbling_window_s=5,
    ),
    MappingDef(
        name="FinalResults",
        handler="consumers.final_results.handler",
        source="dynamodb",
        batch_size=100,
        max_batching_window_s=0,
        starting_position="TRIM_HORIZON",
        maximum_retry_attempts=10,
        maximum_record_age_s=3600,
    ),
    MappingDef(
        name="Publisher",
        handler="consumers.publisher.handler",
        source="dynamodb",
        batch_size=100,
        max_batching_window_s=0,
        starting_position="LATEST",
        maximum_retry_attempts=2,
        maximum_record_age_s=60,
    ),
)


@dataclass(frozen=True)
class KafkaMappingDef:
    """The Aggregator's event source mapping with the Kafka transport (Amazon MSK, or self-managed
    Kafka locally): AWS's parameters for Kafka sources, with their defaults where we keep them.
    Kafka mappings have no tumbling windows and no ParallelizationFactor (Lambda reads each
    partition in order, one batch at a time)."""

    name: str  # the function's logical name, as in MAPPINGS
    handler: str
    consumer_group_id: str  # AmazonManagedKafkaEventSourceConfig / SelfManagedKafkaEventSourceConfig
    batch_size: int  # BatchSize (1..10000; AWS's default 100)
    max_batching_window_ms: int  # MaximumBatchingWindowInSeconds (unset: AWS's 500 ms)
    starting_position: Literal["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"]  # StartingPosition
    maximum_retry_attempts: int  # MaximumRetryAttempts (-1: until it succeeds; 10 with a destination)
    maximum_record_age_s: int  # MaximumRecordAgeInSeconds (-1: no limit)
    bisect_on_error: bool = True  # BisectBatchOnFunctionError
    report_batch_item_failures: bool = True  # FunctionResponseTypes: [ReportBatchItemFailures]
    timeout_s: int = 60
    memory_mb: int = 512


KAFKA_AGGREGATOR = KafkaMappingDef(
    name="Aggregator",
    handler="consumers.aggregator.handler",
    consumer_group_id="alleycat-aggregator",
    # the most a batch may hold: at full load the 500 ms window, not the count, ends a batch, so a
    # race gets at most about two LIVE writes a second (docs/design.md, "Kafka transport")
    batch_size=10_000,
    max_batching_window_ms=500,
    starting_position="TRIM_HORIZON",
    maximum_retry_attempts=10,
    maximum_record_age_s=3600,
)


# --- The lake's Glue names (its locations: alleycat.lake.layout) ------------------------------

HUDI_TABLES = ("telemetry", "race_results", "racer_bests")
GLUE_DATABASE = "alleycat"
RAW_TABLE = "raw_telemetry"

# --- Firehose's buffering hints (the delivery stream into the raw zone) ----------------------------

FIREHOSE_BUFFER_SECONDS = 60
FIREHOSE_BUFFER_MB = 1
