"""The CloudWatch dashboard: stream intake and iterator age, function errors and latency, table
capacity, Firehose delivery, dead-letter queues and API traffic on one page."""

from __future__ import annotations

import json
from typing import Any

from infra.aws.template.api import API_STAGE
from infra.aws.template.conditions import if_kinesis
from infra.aws.template.functions import FunctionSpec
from infra.aws.template.intrinsics import ref, sub
from infra.aws.template.mappings import dead_letter_queue_name


def dashboard(specs: list[FunctionSpec]) -> dict[str, Any]:
    def widget(title: str, metrics: list[list[Any]], stat: str = "Sum", x: int = 0, y: int = 0) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": "${AWS::Region}", "stat": stat, "period": 60, "metrics": metrics},
        }

    fns = [f"${{{s.name}Function}}" for s in specs]
    mapped = [f"${{{s.name}Function}}" for s in specs if s.mapping is not None]
    widgets = [
        widget("Stream: records in", [["AWS/Kinesis", "IncomingRecords", "StreamName", "${StreamName}"]], x=0, y=0),
        widget(
            "Iterator age (ms)",
            [["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", "${StreamName}"]]
            + [["AWS/Lambda", "IteratorAge", "FunctionName", f] for f in mapped],
            stat="Maximum",
            x=12,
            y=0,
        ),
        widget("Lambda errors", [["AWS/Lambda", "Errors", "FunctionName", f] for f in fns], x=0, y=6),
        widget(
            "Lambda duration p99", [["AWS/Lambda", "Duration", "FunctionName", f] for f in fns], stat="p99", x=12, y=6
        ),
        widget(
            "DynamoDB: consumed WCU and throttles",
            [
                ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", "${Table}"],
                ["AWS/DynamoDB", "WriteThrottleEvents", "TableName", "${Table}"],
                ["AWS/DynamoDB", "ReadThrottleEvents", "TableName", "${Table}"],
            ],
            x=0,
            y=12,
        ),
        widget(
            "Firehose delivery",
            [
                ["AWS/Firehose", "DeliveryToS3.Records", "DeliveryStreamName", "${RawDeliveryStream}"],
                ["AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", "${RawDeliveryStream}"],
            ],
            x=12,
            y=12,
        ),
        widget(
            "Dead-letter queues (visible)",
            [
                [
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    "QueueName",
                    f"${{{dead_letter_queue_name(s.mapping)}.QueueName}}",
                ]
                for s in specs
                if s.mapping is not None
            ],
            stat="Maximum",
            x=0,
            y=18,
        ),
        widget(
            "Stream throttling (per-shard quotas)",
            [
                ["AWS/Kinesis", m, "StreamName", "${StreamName}"]
                for m in ("WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded")
            ],
            x=0,
            y=24,
        ),
        widget(
            "Glue streaming: records and batch time (ms)",
            [
                ["Glue", m, "JobName", "${TelemetryJob}", "JobRunId", "ALL", "Type", t]
                for m, t in (
                    ("glue.driver.streaming.numRecords", "count"),
                    ("glue.driver.streaming.batchProcessingTimeInMs", "count"),
                )
            ],
            x=12,
            y=24,
        ),
        widget(
            "Own counters (EMF, namespace Alleycat)",
            [
                ["Alleycat", "Records", "service", "aggregator"],
                ["Alleycat", "RejectedRecords", "service", "aggregator"],
                ["Alleycat", "RecordsProcessingFailed", "service", "firehose-transform"],
                ["Alleycat", "FailedChanges", "service", "final-results"],
            ],
            x=0,
            y=30,
        ),
        widget(
            "API requests, 4xx (429 included) and 5xx",
            [
                ["AWS/ApiGateway", m, "ApiName", "${AWS::StackName}-leaderboard", "Stage", API_STAGE]
                for m in ("Count", "4XXError", "5XXError")
            ],
            x=12,
            y=18,
        ),
    ]
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": sub("${AWS::StackName}"),
            # with Transport=MSK there is no stream: its widgets stay empty
            "DashboardBody": {
                "Fn::Sub": [
                    json.dumps({"widgets": widgets}, separators=(",", ":")),
                    {"StreamName": if_kinesis(ref("TelemetryStream"), "none")},
                ]
            },
        },
    }
