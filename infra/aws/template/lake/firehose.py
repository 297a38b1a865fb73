"""The Firehose delivery stream: reads the telemetry stream (with ``Transport=MSK`` the topic, as
Firehose with MSK as its source), runs the transform Lambda, converts JSON to Parquet with the raw
table's schema, and partitions by dt/hour under the raw prefix."""

from __future__ import annotations

from typing import Any

from alleycat.lake.schema import RAW_PARTITIONS
from alleycat.resources import FIREHOSE_BUFFER_SECONDS, GLUE_DATABASE, RAW_TABLE
from infra.aws.template import kafka
from infra.aws.template.conditions import if_kinesis
from infra.aws.template.iam import kms_via, policy, role, stmt
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.lake.paths import LAKE, lake_key, lake_objects
from infra.aws.template.stream import KINESIS_READ

# Dynamic partitioning (and record format conversion) need a size hint of at least 64 MiB in
# AWS; the local stack flushes at FIREHOSE_BUFFER_MB. At this volume the interval
# (FIREHOSE_BUFFER_SECONDS, shared) is what triggers delivery either way: docs/deploy.md.
FIREHOSE_MIN_BUFFER_MB = 64


def firehose_prefix() -> str:
    keys = "/".join(f"{name}=!{{partitionKeyFromLambda:{name}}}" for name, _ in RAW_PARTITIONS)
    return f"{lake_key(LAKE.raw)}/{keys}/"


def firehose_error_prefix() -> str:
    when = "dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}"
    return f"{lake_key(LAKE.processing_failed)}/!{{firehose:error-output-type}}/{when}/"


def firehose() -> dict[str, Any]:
    glue_table_arns = [
        sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
        sub(f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:database/{GLUE_DATABASE}"),
        sub(f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:table/{GLUE_DATABASE}/{RAW_TABLE}"),
    ]
    read_stream = [
        stmt(KINESIS_READ, [att("TelemetryStream")], "ReadStream"),
        kms_via("kinesis", ["kms:Decrypt"], "ReadStreamKey"),
    ]
    statements = [
        stmt(
            ["s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
            [att("LakeBucket")],
            "LakeBucket",
        ),
        stmt(
            ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            lake_objects(LAKE.raw, LAKE.processing_failed),
            "WriteRaw",
        ),
        kms_via("s3", ["kms:Decrypt", "kms:GenerateDataKey"], "WriteRawKey"),
        stmt(
            ["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
            [att("FirehoseTransformFunction")],
            "Transform",
        ),
        stmt(["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"], glue_table_arns, "RawSchema"),
        stmt(["logs:PutLogEvents"], [att("FirehoseLogGroup")], "DeliveryLogs"),
    ]
    return {
        "FirehoseRole": role(
            "Firehose: read the stream (or the topic), transform, convert, write raw Parquet",
            "firehose.amazonaws.com",
            statements,
            [if_kinesis(policy("read-stream", read_stream), policy("read-topic", kafka.firehose_statements()))],
        ),
        "FirehoseLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub("/aws/kinesisfirehose/${AWS::StackName}-raw"),
                "RetentionInDays": ref("LogRetentionDays"),
                "KmsKeyId": att("DataKey"),
            },
        },
        "FirehoseLogStream": {
            "Type": "AWS::Logs::LogStream",
            "Properties": {"LogGroupName": ref("FirehoseLogGroup"), "LogStreamName": "S3Delivery"},
        },
        "RawDeliveryStream": {
            "Type": "AWS::KinesisFirehose::DeliveryStream",
            # The role's inline policy is part of FirehoseRole, so GetAtt orders it before this.
            "Properties": {
                "DeliveryStreamType": if_kinesis("KinesisStreamAsSource", "MSKAsSource"),
                "KinesisStreamSourceConfiguration": if_kinesis(
                    {"KinesisStreamARN": att("TelemetryStream"), "RoleARN": att("FirehoseRole")}, ref("AWS::NoValue")
                ),
                "MSKSourceConfiguration": if_kinesis(ref("AWS::NoValue"), kafka.firehose_source()),
                "ExtendedS3DestinationConfiguration": {
                    "BucketARN": att("LakeBucket"),
                    "RoleARN": att("FirehoseRole"),
                    "Prefix": firehose_prefix(),
                    "ErrorOutputPrefix": firehose_error_prefix(),
                    "BufferingHints": {
                        "IntervalInSeconds": FIREHOSE_BUFFER_SECONDS,
                        "SizeInMBs": ref("FirehoseBufferMB"),
                    },
                    "CompressionFormat": "UNCOMPRESSED",  # Parquet pages are Snappy-compressed instead
                    "EncryptionConfiguration": {"KMSEncryptionConfig": {"AWSKMSKeyARN": att("DataKey")}},
                    "CloudWatchLoggingOptions": {
                        "Enabled": True,
                        "LogGroupName": ref("FirehoseLogGroup"),
                        "LogStreamName": ref("FirehoseLogStream"),
                    },
                    "ProcessingConfiguration": {
                        "Enabled": True,
                        "Processors": [
                            {
                                "Type": "Lambda",
                                "Parameters": [
                                    {"ParameterName": "LambdaArn", "ParameterValue": att("FirehoseTransformFunction")},
                                    {"ParameterName": "BufferSizeInMBs", "ParameterValue": "1"},
                                    {
                                        "ParameterName": "BufferIntervalInSeconds",
                                        "ParameterValue": str(FIREHOSE_BUFFER_SECONDS),
                                    },
                                ],
                            }
                        ],
                    },
                    "DynamicPartitioningConfiguration": {"Enabled": True, "RetryOptions": {"DurationInSeconds": 300}},
                    "DataFormatConversionConfiguration": {
                        "Enabled": True,
                        "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
                        "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}},
                        "SchemaConfiguration": {
                            "CatalogId": ref("AWS::AccountId"),
                            "DatabaseName": ref("GlueDatabase"),
                            "TableName": ref("RawTable"),
                            "Region": ref("AWS::Region"),
                            "RoleARN": att("FirehoseRole"),
                            "VersionId": "LATEST",
                        },
                    },
                },
            },
        },
    }
