"""The telemetry stream (Kinesis), what its readers may do, and the policy producers attach
(with ``Transport=MSK``: no stream, and the policy grants writing the topic instead)."""

from __future__ import annotations

from typing import Any

from alleycat.resources import STREAM_RETENTION_HOURS
from infra.aws.template import kafka
from infra.aws.template.conditions import IS_KINESIS, if_kinesis, when
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
    return when(
        IS_KINESIS,
        {
            "Type": "AWS::Kinesis::Stream",
            "Properties": {
                "ShardCount": ref("ShardCount"),
                "RetentionPeriodHours": STREAM_RETENTION_HOURS,
                "StreamModeDetails": {"StreamMode": "PROVISIONED"},
                "StreamEncryption": {"EncryptionType": "KMS", "KeyId": ref("DataKey")},
            },
        },
    )


def producer_policy() -> dict[str, Any]:
    return {
        "ProducerPolicy": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "Description": if_kinesis(
                    "Attach to the simulator's user or role: PutRecords on the telemetry stream",
                    "Attach to the simulator's role (in the Kafka VPC): write the telemetry topic",
                ),
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": if_kinesis(
                        [
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
                        kafka.producer_statements(),
                    ),
                },
            },
        }
    }
