"""The telemetry stream (Kinesis), what its readers may do, and the policy producers attach."""

from __future__ import annotations

from typing import Any

from alleycat.resources import STREAM_RETENTION_HOURS
from infra.aws.template.iam import kms_via, stmt
from infra.aws.template.intrinsics import att, ref

# What a reader of the stream needs: the Kinesis event source mappings and Firehose.
KINESIS_READ = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
]


def stream() -> dict[str, Any]:
    return {
        "Type": "AWS::Kinesis::Stream",
        "Properties": {
            "ShardCount": ref("ShardCount"),
            "RetentionPeriodHours": STREAM_RETENTION_HOURS,
            "StreamModeDetails": {"StreamMode": "PROVISIONED"},
            "StreamEncryption": {"EncryptionType": "KMS", "KeyId": ref("DataKey")},
        },
    }


def producer_policy() -> dict[str, Any]:
    return {
        "ProducerPolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": "Attach to the simulator's user or role: PutRecords on the telemetry stream",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        stmt(
                            [
                                "kinesis:PutRecord",
                                "kinesis:PutRecords",
                                "kinesis:DescribeStreamSummary",
                                "kinesis:ListShards",
                            ],
                            [att("TelemetryStream")],
                            "PutTelemetry",
                        ),
                        kms_via("kinesis", ["kms:GenerateDataKey"], "PutTelemetryKey"),
                    ],
                },
            },
        }
    }
