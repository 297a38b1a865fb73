"""Generate the AWS SAM template (``infra/aws/template.yaml``) from the shared definitions.

Everything the local stack stands in for is declared here, and every fact that the local wiring
also uses comes from ``alleycat.resources`` and ``alleycat.lake`` (the event source
mappings, the table, the lake layout, the raw schema, Firehose buffering), so the two wirings
cannot drift. ``tests/unit/test_template.py`` checks that the committed template equals this
output and lints it with cfn-lint.

    python -m infra.aws.build_template          # rewrite template.yaml
    python -m infra.aws.build_template --check  # exit 1 if template.yaml is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from alleycat.lake.layout import LakeLayout
from alleycat.lake.schema import RAW_PARTITIONS, glue_columns
from alleycat.resources import (
    FIREHOSE_BUFFER_MB,
    FIREHOSE_BUFFER_SECONDS,
    GLUE_DATABASE,
    MAPPINGS,
    RAW_TABLE,
    STREAM_RETENTION_HOURS,
    TTL_ATTRIBUTE,
    MappingDef,
    table_definition,
)

TEMPLATE_PATH = Path(__file__).with_name("template.yaml")

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
GLUE_VERSION = "5.1"  # Spark 3.5.6, Python 3.11, Hudi 1.0.2 (AWS Glue release notes)
GLUE_SCRIPT = "telemetry_job.py"  # glue_jobs/telemetry_job.py, uploaded by `make deploy`
GLUE_EXTRA_PY = "alleycat-glue.zip"  # the alleycat and glue_jobs packages, built by `make package`
# Lambda code and the dependency layer, built by `make package` (tests/unit/test_package.py).
LAMBDA_CODE_DIR = "../../build/package/lambda/code"
LAMBDA_LAYER_DIR = "../../build/package/lambda/layer"

# Firehose: dynamic partitioning (and record format conversion) need a size hint of at least
# 64 MiB in AWS; the local stack flushes at FIREHOSE_BUFFER_MB. At this volume the interval
# (FIREHOSE_BUFFER_SECONDS, shared) is what triggers delivery either way: docs/deploy.md.
FIREHOSE_MIN_BUFFER_MB = 64
DEAD_LETTER_PREFIX = "dead-letter"  # consumers.deadletter: s3://bucket/<prefix>/<source>/dt=.../
IOT_TOPIC = "alleycat/races/*/*/standings"  # consumers.publish.topic(raceId, classId)
# Iterator age alarms fire at this fraction of the stream's retention (requirement: below 50%).
ITERATOR_AGE_ALARM_FRACTION = 0.25

# Actions that AWS only authorises on Resource "*". Any statement whose Resource is "*" may only
# hold these; the reason is written into the template (Metadata) and checked by the tests.
WILDCARD_EXCEPTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions (Tracing: Active)",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions (Tracing: Active)",
    "dynamodb:ListStreams": "Lambda's DynamoDB Streams poller lists streams; the action takes no resource",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no resource ARNs; limited to the Glue namespace by condition",
}


# --- small helpers: long-form intrinsic functions (plain YAML, no custom tags) -----------------


def ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def att(name: str, attr: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [name, attr]}


def sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def stmt(actions: list[str], resources: list[Any], sid: str, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


# The lake layout, with the bucket as a CloudFormation substitution: s3://${LakeBucket}/raw/...
LAKE = LakeLayout("s3://${LakeBucket}")
LAKE_URI = "s3://${LakeBucket}"


def lake_key(uri: str) -> str:
    """The object key prefix of a lake URI: s3://${LakeBucket}/raw/telemetry -> raw/telemetry."""
    return uri.removeprefix(LAKE_URI + "/")


def lake_objects(*uris: str) -> list[dict[str, Any]]:
    return [sub(f"${{LakeBucket.Arn}}/{lake_key(u)}/*") for u in uris]


def kms_via(service: str, actions: list[str], sid: str) -> dict[str, Any]:
    return stmt(
        actions,
        [att("DataKey")],
        sid,
        Condition={"StringEquals": {"kms:ViaService": sub(f"{service}.${{AWS::Region}}.amazonaws.com")}},
    )


def logs_stmt(log_group: str) -> dict[str, Any]:
    return stmt(["logs:CreateLogStream", "logs:PutLogEvents"], [att(log_group)], "WriteOwnLogs")


XRAY_STMT = stmt(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"], "XRayNoResourceLevel")


def role(description: str, service: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Description": description,
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"},
                ],
            },
            "Policies": [
                {"PolicyName": "least-privilege", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}
            ],
        },
    }


# --- the table ----------------------------------------------------------------------------------

TABLE = table_definition("unused")
INDEX_NAMES = [g["IndexName"] for g in TABLE["GlobalSecondaryIndexes"]]


def table_resource() -> dict[str, Any]:
    spec = TABLE["StreamSpecification"]
    assert spec["StreamEnabled"], "the consumers need the table's stream"
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BillingMode": TABLE["BillingMode"],
            "AttributeDefinitions": TABLE["AttributeDefinitions"],
            "KeySchema": TABLE["KeySchema"],
            "GlobalSecondaryIndexes": TABLE["GlobalSecondaryIndexes"],
            "StreamSpecification": {"StreamViewType": spec["StreamViewType"]},
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": ref("DataKey")},
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "DeletionProtectionEnabled": True,
        },
    }


def table_arns(indexes: bool = True) -> list[dict[str, Any]]:
    arns: list[dict[str, Any]] = [att("Table")]
    if indexes:
        arns += [sub(f"${{Table.Arn}}/index/{name}") for name in INDEX_NAMES]
    return arns


# --- functions ----------------------------------------------------------------------------------


@dataclass
class FunctionSpec:
    name: str  # logical name; the resource is "<name>Function"
    handler: str
    description: str
    statements: list[dict[str, Any]]
    timeout_s: int = 60
    memory_mb: int = 512
    environment: dict[str, Any] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)
    mapping: MappingDef | None = None

    @property
    def slug(self) -> str:
        return "".join("-" + c.lower() if c.isupper() else c for c in self.name).lstrip("-")


KINESIS_READ = [
    "kinesis:DescribeStream",
    "kinesis:DescribeStreamSummary",
    "kinesis:GetRecords",
    "kinesis:GetShardIterator",
    "kinesis:ListShards",
]
DDB_STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
DDB_WRITE = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:Query"]
DDB_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"]


def dead_letter_stmt() -> dict[str, Any]:
    return stmt(["s3:PutObject"], [sub(f"${{LakeBucket.Arn}}/{DEAD_LETTER_PREFIX}/*")], "DeadLetters")


def mapping_statements(m: MappingDef) -> list[dict[str, Any]]:
    dlq = f"{m.name}DeadLetterQueue"
    out = [
        stmt(["sqs:SendMessage"], [att(dlq)], "OnFailureDestination"),
        kms_via("sqs", ["kms:Decrypt", "kms:GenerateDataKey"], "OnFailureDestinationKey"),
    ]
    if m.source == "kinesis":
        out += [
            stmt(KINESIS_READ, [att("TelemetryStream")], "ReadStream"),
            kms_via("kinesis", ["kms:Decrypt"], "ReadStreamKey"),
        ]
    else:
        out += [
            stmt(DDB_STREAM_READ, [att("Table", "StreamArn")], "ReadTableStream"),
            stmt(["dynamodb:ListStreams"], ["*"], "ListStreamsNoResourceLevel"),
            kms_via("dynamodb", ["kms:Decrypt"], "ReadTableStreamKey"),
        ]
    return out


def event_for(m: MappingDef) -> dict[str, Any]:
    props: dict[str, Any] = {
        "Stream": att("TelemetryStream") if m.source == "kinesis" else att("Table", "StreamArn"),
        "StartingPosition": m.starting_position,
        "BatchSize": m.batch_size,
        "MaximumBatchingWindowInSeconds": m.max_batching_window_s,
        "MaximumRetryAttempts": m.maximum_retry_attempts,
        "MaximumRecordAgeInSeconds": m.maximum_record_age_s,
        "BisectBatchOnFunctionError": m.bisect_on_error,
        "ParallelizationFactor": m.parallelization_factor,
        "DestinationConfig": {"OnFailure": {"Destination": att(f"{m.name}DeadLetterQueue")}},
    }
    if m.report_batch_item_failures:
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if m.tumbling_window_s is not None:
        props["TumblingWindowInSeconds"] = m.tumbling_window_s
    return {"Type": "Kinesis" if m.source == "kinesis" else "DynamoDB", "Properties": props}


def function_specs() -> list[FunctionSpec]:
    dead_letter_env = {
        "ALLEYCAT_DEAD_LETTER_BUCKET": ref("LakeBucket"),
        "ALLEYCAT_DEAD_LETTER_PREFIX": DEAD_LETTER_PREFIX,
    }
    extra: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]] = {
        "Aggregator": (
            "Tumbling-window aggregation of telemetry into the LIVE item of each race",
            [stmt(DDB_WRITE, table_arns(), "WriteTable"), dead_letter_stmt()],
            dead_letter_env,
        ),
        "FinalResults": (
            "RESULT, BEST and CLASS items from the table's stream",
            [stmt(DDB_WRITE, table_arns(), "WriteTable"), dead_letter_stmt()],
            dead_letter_env,
        ),
        "Publisher": (
            "Publishes live standings to IoT Core (alleycat/races/<raceId>/<classId>/standings)",
            [
                stmt(DDB_READ, table_arns(), "ReadTable"),
                stmt(
                    ["iot:Publish"],
                    [sub(f"arn:${{AWS::Partition}}:iot:${{AWS::Region}}:${{AWS::AccountId}}:topic/{IOT_TOPIC}")],
                    "PublishStandings",
                ),
                dead_letter_stmt(),
            ],
            {"AWS_ENDPOINT_URL_IOT_DATA": ref("IotDataEndpoint"), **dead_letter_env},
        ),
    }
    specs = []
    for m in MAPPINGS:
        description, statements, env = extra[m.name]
        specs.append(
            FunctionSpec(
                name=m.name,
                handler=m.handler,
                description=description,
                statements=mapping_statements(m) + statements,
                timeout_s=m.timeout_s,
                memory_mb=m.memory_mb,
                environment=env,
                events={"Stream": event_for(m)},
                mapping=m,
            )
        )
    specs.append(
        FunctionSpec(
            name="FirehoseTransform",
            handler="consumers.firehose_transform.handler",
            description="Firehose record transform: validation, snake_case rows and dt/hour partition keys",
            statements=[dead_letter_stmt()],
            timeout_s=120,
            environment=dead_letter_env,
        )
    )
    specs.append(
        FunctionSpec(
            name="Api",
            handler="consumers.api.handler",
            description="Leaderboard API (FastAPI via Mangum) behind the HTTP API",
            statements=[
                stmt(DDB_READ, table_arns(), "ReadTable"),
                stmt(["s3:GetObject"], lake_objects(LAKE.bests_export), "ReadBestsExport"),
                kms_via("s3", ["kms:Decrypt"], "ReadBestsExportKey"),
                stmt(["secretsmanager:GetSecretValue"], [ref("CursorKeySecret")], "ReadCursorKey"),
                kms_via("secretsmanager", ["kms:Decrypt"], "ReadCursorKeyKey"),  # the secret is under DataKey
            ],
            timeout_s=29,
            environment={"ALLEYCAT_CURSOR_KEY_SECRET_ARN": ref("CursorKeySecret")},
            events={
                "Proxy": {
                    "Type": "HttpApi",
                    "Properties": {"ApiId": ref("LeaderboardApi"), "Path": "/{proxy+}", "Method": "ANY"},
                }
            },
        )
    )
    return specs


def function_resources(spec: FunctionSpec) -> dict[str, Any]:
    fn, log_group, role_name = f"{spec.name}Function", f"{spec.name}LogGroup", f"{spec.name}Role"
    function_name = f"${{AWS::StackName}}-{spec.slug}"
    props: dict[str, Any] = {
        "FunctionName": sub(function_name),
        "Description": spec.description,
        "Handler": spec.handler,
        "Role": att(role_name),
        "Timeout": spec.timeout_s,
        "MemorySize": spec.memory_mb,
        "LoggingConfig": {"LogGroup": ref(log_group), "LogFormat": "Text"},
    }
    if spec.environment:
        props["Environment"] = {"Variables": spec.environment}
    if spec.events:
        props["Events"] = spec.events
    resources: dict[str, Any] = {
        fn: {"Type": "AWS::Serverless::Function", "Properties": props},
        log_group: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub(f"/aws/lambda/{function_name}"),
                "RetentionInDays": ref("LogRetentionDays"),
            },
        },
        role_name: role(
            f"{spec.name} function: least privilege",
            "lambda.amazonaws.com",
            [logs_stmt(log_group), XRAY_STMT, *spec.statements],
        ),
    }
    if spec.mapping is not None:
        resources[f"{spec.name}DeadLetterQueue"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "KmsMasterKeyId": ref("DataKey"),
                "MessageRetentionPeriod": 14 * 24 * 3600,
            },
        }
    return resources


# --- storage: key, stream, buckets --------------------------------------------------------------


def data_key() -> dict[str, Any]:
    return {
        "Type": "AWS::KMS::Key",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": "Alleycat data at rest: stream, table, queues, lake, Athena results, alarm topic",
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        # Key policies are resource policies: "*" here is this key. IAM in the account
                        # decides who may use it (the roles below name the key's ARN).
                        "Sid": "AccountAdministersKeyThroughIam",
                        "Effect": "Allow",
                        "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "AlarmsAndEventsPublishToEncryptedTopic",
                        "Effect": "Allow",
                        "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                    },
                ],
            },
        },
    }


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


def bucket(kms: bool, lifecycle: list[dict[str, Any]], versioned: bool = False, retain: bool = False) -> dict[str, Any]:
    sse: dict[str, Any] = (
        {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": att("DataKey")} if kms else {"SSEAlgorithm": "AES256"}
    )
    props: dict[str, Any] = {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": sse, "BucketKeyEnabled": kms}]
        },
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "LifecycleConfiguration": {
            "Rules": [
                {
                    "Id": "abort-incomplete-uploads",
                    "Status": "Enabled",
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                },
                *lifecycle,
            ]
        },
    }
    if versioned:
        props["VersioningConfiguration"] = {"Status": "Enabled"}
    policy = "Retain" if retain else "Delete"
    return {"Type": "AWS::S3::Bucket", "DeletionPolicy": policy, "UpdateReplacePolicy": policy, "Properties": props}


def tls_only(bucket_name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": ref(bucket_name),
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [att(bucket_name), sub(f"${{{bucket_name}.Arn}}/*")],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }


def buckets() -> dict[str, Any]:
    raw, failed = lake_key(LAKE.raw), lake_key(LAKE.processing_failed)
    lake_rules = [
        {
            "Id": "raw-telemetry",
            "Status": "Enabled",
            "Prefix": f"{raw}/",
            "Transitions": [{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 30}],
            "ExpirationInDays": ref("RawRetentionDays"),
        },
        {"Id": "processing-failed", "Status": "Enabled", "Prefix": f"{failed}/", "ExpirationInDays": 30},
        {"Id": "dead-letter", "Status": "Enabled", "Prefix": f"{DEAD_LETTER_PREFIX}/", "ExpirationInDays": 30},
    ]
    return {
        "LakeBucket": bucket(kms=True, lifecycle=lake_rules, retain=True),
        "LakeBucketPolicy": tls_only("LakeBucket"),
        "ArtifactsBucket": bucket(
            kms=False,
            versioned=True,
            lifecycle=[
                {"Id": "old-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
            ],
        ),
        "ArtifactsBucketPolicy": tls_only("ArtifactsBucket"),
        "AthenaResultsBucket": bucket(
            kms=True, lifecycle=[{"Id": "results", "Status": "Enabled", "ExpirationInDays": 7}]
        ),
        "AthenaResultsBucketPolicy": tls_only("AthenaResultsBucket"),
    }


# --- Glue catalog, Firehose, Glue job, Athena -----------------------------------------------


def glue_catalog() -> dict[str, Any]:
    location = LAKE.raw
    projection: dict[str, str] = {
        "classification": "parquet",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        "projection.dt.range": "2024-01-01,NOW",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "projection.hour.type": "integer",
        "projection.hour.range": "0,23",
        "projection.hour.digits": "2",
    }
    partitions = "/".join(f"{name}=${{!{name}}}" for name, _ in RAW_PARTITIONS)
    return {
        "GlueDatabase": {
            "Type": "AWS::Glue::Database",
            "Properties": {
                "CatalogId": ref("AWS::AccountId"),
                "DatabaseInput": {"Name": GLUE_DATABASE, "Description": "Alleycat lake: raw telemetry and Hudi tables"},
            },
        },
        "RawTable": {
            "Type": "AWS::Glue::Table",
            "Properties": {
                "CatalogId": ref("AWS::AccountId"),
                "DatabaseName": ref("GlueDatabase"),
                "TableInput": {
                    "Name": RAW_TABLE,
                    "Description": "Firehose output: Parquet, partitioned dt/hour (UTC)",
                    "TableType": "EXTERNAL_TABLE",
                    "Parameters": {**projection, "storage.location.template": sub(f"{location}/{partitions}/")},
                    "PartitionKeys": [{"Name": name, "Type": typ} for name, typ in RAW_PARTITIONS],
                    "StorageDescriptor": {
                        "Columns": glue_columns(),
                        "Location": sub(f"{location}/"),
                        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                        "SerdeInfo": {
                            "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
                        },
                    },
                },
            },
        },
    }


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
    statements = [
        stmt(KINESIS_READ, [att("TelemetryStream")], "ReadStream"),
        kms_via("kinesis", ["kms:Decrypt"], "ReadStreamKey"),
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
            "Firehose: read the stream, transform, convert, write raw Parquet", "firehose.amazonaws.com", statements
        ),
        "FirehoseLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub("/aws/kinesisfirehose/${AWS::StackName}-raw"),
                "RetentionInDays": ref("LogRetentionDays"),
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
                "DeliveryStreamType": "KinesisStreamAsSource",
                "KinesisStreamSourceConfiguration": {
                    "KinesisStreamARN": att("TelemetryStream"),
                    "RoleARN": att("FirehoseRole"),
                },
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


def glue_job() -> dict[str, Any]:
    artifacts = "s3://${ArtifactsBucket}/glue/${ArtifactVersion}"
    glue_arn = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}"
    logs_arn = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}"
    statements = [
        stmt(["s3:GetObject"], [sub("${ArtifactsBucket.Arn}/glue/*")], "ReadJobArtifacts"),
        stmt(["s3:ListBucket", "s3:GetBucketLocation"], [att("LakeBucket")], "ListLake"),
        stmt(["s3:GetObject"], lake_objects(LAKE.raw), "ReadRaw"),
        stmt(
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            [
                sub(f"${{LakeBucket.Arn}}/{lake_key(LAKE.hudi_table(''))}*"),
                *lake_objects(LAKE.checkpoints, LAKE.bests_export),
            ],
            "WriteHudiCheckpointsExports",
        ),
        kms_via("s3", ["kms:Decrypt", "kms:GenerateDataKey"], "LakeKey"),
        stmt(
            [
                "glue:GetDatabase",
                "glue:GetTable",
                "glue:GetTables",
                "glue:CreateTable",
                "glue:UpdateTable",
                "glue:GetPartition",
                "glue:GetPartitions",
                "glue:CreatePartition",
                "glue:BatchCreatePartition",
                "glue:UpdatePartition",
                "glue:BatchUpdatePartition",
                "glue:DeletePartition",
                "glue:BatchDeletePartition",
            ],
            [
                sub(f"{glue_arn}:catalog"),
                sub(f"{glue_arn}:database/{GLUE_DATABASE}"),
                sub(f"{glue_arn}:table/{GLUE_DATABASE}/*"),
            ],
            "HiveSyncIntoOwnDatabase",
        ),
        stmt(
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [att("GlueLogGroup"), sub(f"{logs_arn}:log-group:/aws-glue/jobs/*")],
            "JobLogs",
        ),
        stmt(
            ["cloudwatch:PutMetricData"],
            ["*"],
            "MetricsNoResourceLevel",
            Condition={"StringEquals": {"cloudwatch:namespace": "Glue"}},
        ),
    ]
    return {
        "GlueJobRole": role("Glue streaming job: raw Parquet to Hudi tables", "glue.amazonaws.com", statements),
        "GlueLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub("/aws-glue/jobs/${AWS::StackName}-telemetry"),
                "RetentionInDays": ref("LogRetentionDays"),
            },
        },
        "TelemetryJob": {
            "Type": "AWS::Glue::Job",
            "Properties": {
                "Name": sub("${AWS::StackName}-telemetry"),
                "Description": "Streaming: raw telemetry (Parquet) to Hudi tables, Hive-synced into the Glue catalog",
                "Role": att("GlueJobRole"),
                "GlueVersion": GLUE_VERSION,
                "Command": {
                    "Name": "gluestreaming",
                    "PythonVersion": "3",
                    "ScriptLocation": sub(f"{artifacts}/{GLUE_SCRIPT}"),
                },
                "WorkerType": ref("GlueWorkerType"),
                "NumberOfWorkers": ref("GlueWorkers"),
                "MaxRetries": 0,
                "ExecutionProperty": {"MaxConcurrentRuns": 1},
                "DefaultArguments": {
                    "--datalake-formats": "hudi",
                    "--enable-glue-datacatalog": "true",
                    "--enable-metrics": "true",
                    "--enable-continuous-cloudwatch-log": "true",
                    "--continuous-log-logGroup": ref("GlueLogGroup"),
                    "--job-bookmark-option": "job-bookmark-disable",  # streaming state lives in checkpoints
                    "--extra-py-files": sub(f"{artifacts}/{GLUE_EXTRA_PY}"),
                    "--conf": "spark.serializer=org.apache.spark.serializer.KryoSerializer",
                    # glue_jobs.telemetry_job.ARGUMENTS (checkpoints: LakeLayout.checkpoints under it)
                    "--lake_uri": sub(LAKE_URI),
                    "--glue_database": GLUE_DATABASE,
                },
            },
        },
    }


def athena() -> dict[str, Any]:
    return {
        "AthenaWorkGroup": {
            "Type": "AWS::Athena::WorkGroup",
            "Properties": {
                "Name": sub("${AWS::StackName}"),
                "Description": "Alleycat analysts: encrypted results, enforced settings, scan cutoff",
                "RecursiveDeleteOption": True,
                "State": "ENABLED",
                "WorkGroupConfiguration": {
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    "BytesScannedCutoffPerQuery": 10 * 1024**3,
                    "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
                    "ResultConfiguration": {
                        "OutputLocation": sub("s3://${AthenaResultsBucket}/results/"),
                        "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": att("DataKey")},
                    },
                },
            },
        },
    }


# --- API ------------------------------------------------------------------------------------


def api() -> dict[str, Any]:
    access_log_format = json.dumps(
        {
            "requestId": "$context.requestId",
            "ip": "$context.identity.sourceIp",
            "routeKey": "$context.routeKey",
            "status": "$context.status",
            "latencyMs": "$context.responseLatency",
            "error": "$context.error.message",
            "authError": "$context.authorizer.error",
        },
        separators=(",", ":"),
    )
    return {
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UserPoolName": sub("${AWS::StackName}-users"),
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "Policies": {"PasswordPolicy": {"MinimumLength": 12}},
            },
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": ref("UserPool"),
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            },
        },
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub("/aws/apigateway/${AWS::StackName}-leaderboard"),
                "RetentionInDays": ref("LogRetentionDays"),
            },
        },
        "LeaderboardApi": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Description": "Leaderboard API: JWT (Cognito) authorised, throttled",
                "Auth": {
                    "DefaultAuthorizer": "CognitoJwt",
                    "Authorizers": {
                        "CognitoJwt": {
                            "IdentitySource": "$request.header.Authorization",
                            "JwtConfiguration": {
                                "issuer": sub("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"),
                                "audience": [ref("UserPoolClient")],
                            },
                        }
                    },
                },
                "DefaultRouteSettings": {
                    "ThrottlingBurstLimit": ref("ApiBurstLimit"),
                    "ThrottlingRateLimit": ref("ApiRateLimit"),
                },
                "AccessLogSettings": {"DestinationArn": att("ApiAccessLogGroup"), "Format": access_log_format},
            },
        },
        "CursorKeySecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Description": "HMAC key for the API's paging cursors (ALLEYCAT_CURSOR_KEY)",
                "KmsKeyId": ref("DataKey"),
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
    }


# --- observability ---------------------------------------------------------------------------


def alarm(
    description: str,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    stat: str,
    comparison: str,
    threshold: float,
    period: int = 300,
    evaluation_periods: int = 1,
) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            "Namespace": namespace,
            "MetricName": metric,
            "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            "Statistic": stat,
            "Period": period,
            "EvaluationPeriods": evaluation_periods,
            "Threshold": threshold,
            "ComparisonOperator": comparison,
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ref("AlarmTopic")],
            "OKActions": [ref("AlarmTopic")],
        },
    }


def iterator_age_threshold_ms(m: MappingDef) -> int:
    """Half the record age limit (records older than it go to the DLQ, so the age never grows
    past it), and never more than ITERATOR_AGE_ALARM_FRACTION of the stream's retention."""
    retention_ms = STREAM_RETENTION_HOURS * 3600 * 1000
    limit = retention_ms * ITERATOR_AGE_ALARM_FRACTION
    if m.maximum_record_age_s > 0:
        limit = min(limit, m.maximum_record_age_s * 1000 / 2)
    return int(limit)


def observability(specs: list[FunctionSpec]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": ref("DataKey")}},
        "AlarmTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [ref("AlarmTopic")],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AlarmsAndGlueEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": ["cloudwatch.amazonaws.com", "events.amazonaws.com"]},
                            "Action": "sns:Publish",
                            "Resource": ref("AlarmTopic"),
                            "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                        }
                    ],
                },
            },
        },
        "AlarmEmailSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Condition": "HasAlarmEmail",
            "Properties": {"TopicArn": ref("AlarmTopic"), "Protocol": "email", "Endpoint": ref("AlarmEmail")},
        },
        "StreamIteratorAgeAlarm": alarm(
            f"Oldest unread record in the stream (any consumer, Firehose included) is older than "
            f"{ITERATOR_AGE_ALARM_FRACTION:.0%} of the {STREAM_RETENTION_HOURS} h retention",
            "AWS/Kinesis",
            "GetRecords.IteratorAgeMilliseconds",
            {"StreamName": ref("TelemetryStream")},
            "Maximum",
            "GreaterThanThreshold",
            STREAM_RETENTION_HOURS * 3600 * 1000 * ITERATOR_AGE_ALARM_FRACTION,
        ),
        "StreamWriteThrottleAlarm": alarm(
            "Producers are throttled by the stream (add shards)",
            "AWS/Kinesis",
            "WriteProvisionedThroughputExceeded",
            {"StreamName": ref("TelemetryStream")},
            "Sum",
            "GreaterThanThreshold",
            0,
        ),
        "FirehoseDeliveryAlarm": alarm(
            "Firehose failed to deliver to S3",
            "AWS/Firehose",
            "DeliveryToS3.Success",
            {"DeliveryStreamName": ref("RawDeliveryStream")},
            "Minimum",
            "LessThanThreshold",
            1,
        ),
        "FirehoseFreshnessAlarm": alarm(
            "Raw data in Firehose is older than 15 minutes",
            "AWS/Firehose",
            "DeliveryToS3.DataFreshness",
            {"DeliveryStreamName": ref("RawDeliveryStream")},
            "Maximum",
            "GreaterThanThreshold",
            900,
        ),
        "FirehoseTransformFailureAlarm": alarm(
            "The Firehose transform Lambda failed (records go to processing-failed/)",
            "AWS/Firehose",
            "ExecuteProcessing.Success",
            {"DeliveryStreamName": ref("RawDeliveryStream")},
            "Minimum",
            "LessThanThreshold",
            1,
        ),
        "GlueJobFailedTasksAlarm": alarm(
            "The Glue streaming job has failed tasks",
            "Glue",
            "glue.driver.aggregate.numFailedTasks",
            {"JobName": ref("TelemetryJob"), "JobRunId": "ALL", "Type": "count"},
            "Sum",
            "GreaterThanThreshold",
            0,
        ),
        "GlueJobStateRule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Description": "Glue streaming job failed, timed out or stopped",
                "EventPattern": {
                    "source": ["aws.glue"],
                    "detail-type": ["Glue Job State Change"],
                    "detail": {"jobName": [ref("TelemetryJob")], "state": ["FAILED", "TIMEOUT", "STOPPED", "ERROR"]},
                },
                "Targets": [{"Arn": ref("AlarmTopic"), "Id": "alarm-topic"}],
            },
        },
        "ApiServerErrorAlarm": alarm(
            "The leaderboard API returns 5xx",
            "AWS/ApiGateway",
            "5xx",
            {"ApiId": ref("LeaderboardApi")},
            "Sum",
            "GreaterThanThreshold",
            0,
        ),
    }
    for kind in ("Read", "Write"):
        out[f"Table{kind}ThrottleAlarm"] = alarm(
            f"DynamoDB {kind.lower()} throttling on the table",
            "AWS/DynamoDB",
            f"{kind}ThrottleEvents",
            {"TableName": ref("Table")},
            "Sum",
            "GreaterThanThreshold",
            0,
        )
    for index in INDEX_NAMES:
        out[f"{index}WriteThrottleAlarm"] = alarm(
            f"DynamoDB write throttling on {index} (throttles the table's writes too)",
            "AWS/DynamoDB",
            "WriteThrottleEvents",
            {"TableName": ref("Table"), "GlobalSecondaryIndexName": index},
            "Sum",
            "GreaterThanThreshold",
            0,
        )
    for spec in specs:
        fn = ref(f"{spec.name}Function")
        out[f"{spec.name}ErrorsAlarm"] = alarm(
            f"{spec.name} function errors",
            "AWS/Lambda",
            "Errors",
            {"FunctionName": fn},
            "Sum",
            "GreaterThanThreshold",
            0,
        )
        out[f"{spec.name}ThrottlesAlarm"] = alarm(
            f"{spec.name} function throttled",
            "AWS/Lambda",
            "Throttles",
            {"FunctionName": fn},
            "Sum",
            "GreaterThanThreshold",
            0,
        )
        if spec.mapping is not None:
            m = spec.mapping
            out[f"{spec.name}IteratorAgeAlarm"] = alarm(
                f"{spec.name} is falling behind its {m.source} stream",
                "AWS/Lambda",
                "IteratorAge",
                {"FunctionName": fn},
                "Maximum",
                "GreaterThanThreshold",
                iterator_age_threshold_ms(m),
                period=60,
                evaluation_periods=5,
            )
            out[f"{spec.name}DeadLetterAlarm"] = alarm(
                f"{spec.name} gave up on records: they are in its dead-letter queue",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": att(f"{spec.name}DeadLetterQueue", "QueueName")},
                "Maximum",
                "GreaterThanThreshold",
                0,
            )
    out["Dashboard"] = dashboard(specs)
    return out


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
        widget(
            "Stream: records in", [["AWS/Kinesis", "IncomingRecords", "StreamName", "${TelemetryStream}"]], x=0, y=0
        ),
        widget(
            "Iterator age (ms)",
            [["AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", "${TelemetryStream}"]]
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
                    f"${{{s.name}DeadLetterQueue.QueueName}}",
                ]
                for s in specs
                if s.mapping is not None
            ],
            stat="Maximum",
            x=0,
            y=18,
        ),
        widget(
            "API requests and 5xx",
            [["AWS/ApiGateway", m, "ApiId", "${LeaderboardApi}"] for m in ("Count", "4xx", "5xx")],
            x=12,
            y=18,
        ),
    ]
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": sub("${AWS::StackName}"),
            "DashboardBody": sub(json.dumps({"widgets": widgets}, separators=(",", ":"))),
        },
    }


# --- the template ------------------------------------------------------------------------------


def parameters() -> dict[str, Any]:
    return {
        "ShardCount": {
            "Type": "Number",
            "Default": 4,
            "MinValue": 1,
            "Description": "Kinesis shards (1,000 records/s each)",
        },
        "ArtifactVersion": {
            "Type": "String",
            "Default": "dev",
            "AllowedPattern": "^[A-Za-z0-9._-]+$",
            "Description": "Glue files key: s3://<ArtifactsBucket>/glue/<ArtifactVersion>/ (make package writes it)",
        },
        "IotDataEndpoint": {
            "Type": "String",
            "AllowedPattern": "^https://[a-z0-9.-]+$",
            "Description": "IoT data endpoint: https://<id>-ats.iot.<region>.amazonaws.com",
        },
        "GlueWorkerType": {"Type": "String", "Default": "G.1X", "AllowedValues": ["G.025X", "G.1X", "G.2X"]},
        "GlueWorkers": {"Type": "Number", "Default": 2, "MinValue": 2},
        "FirehoseBufferMB": {
            "Type": "Number",
            "Default": FIREHOSE_MIN_BUFFER_MB,
            "MinValue": FIREHOSE_MIN_BUFFER_MB,
            "MaxValue": 128,
            "Description": f"Firehose size hint; AWS requires >= {FIREHOSE_MIN_BUFFER_MB} with dynamic partitioning "
            f"(the local stack uses {FIREHOSE_BUFFER_MB})",
        },
        "RawRetentionDays": {"Type": "Number", "Default": 90, "MinValue": 31},
        "LogRetentionDays": {
            "Type": "Number",
            "Default": 14,
            "AllowedValues": [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365],
        },
        "ApiRateLimit": {"Type": "Number", "Default": 50, "Description": "steady requests/s for the API stage"},
        "ApiBurstLimit": {"Type": "Number", "Default": 100},
        "AlarmEmail": {"Type": "String", "Default": "", "Description": "optional: e-mail for alarm notifications"},
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


def build() -> dict[str, Any]:
    specs = function_specs()
    resources: dict[str, Any] = {"DataKey": data_key(), "TelemetryStream": stream(), "Table": table_resource()}
    resources["DependencyLayer"] = {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "Description": "Alleycat's Python dependencies (arm64, Python 3.12)",
            "ContentUri": LAMBDA_LAYER_DIR,
            "CompatibleRuntimes": [RUNTIME],
            "CompatibleArchitectures": [ARCHITECTURE],
            "RetentionPolicy": "Delete",
        },
    }
    for spec in specs:
        resources.update(function_resources(spec))
    resources.update(buckets())
    resources.update(glue_catalog())
    resources.update(firehose())
    resources.update(glue_job())
    resources.update(athena())
    resources.update(api())
    resources.update(producer_policy())
    resources.update(observability(specs))
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "Alleycat: Kinesis, Lambda, DynamoDB, Firehose, Glue/Hudi, Athena and the leaderboard API "
        "(generated by infra/aws/build_template.py; do not edit)",
        "Metadata": {
            "Generator": "infra/aws/build_template.py",
            "WildcardResourceExceptions": WILDCARD_EXCEPTIONS,
        },
        "Parameters": parameters(),
        "Conditions": {"HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]}},
        "Globals": {
            "Function": {
                "Runtime": RUNTIME,
                "Architectures": [ARCHITECTURE],
                "CodeUri": LAMBDA_CODE_DIR,
                "Layers": [ref("DependencyLayer")],
                "Tracing": "Active",
                "Environment": {
                    "Variables": {
                        "ALLEYCAT_STREAM": ref("TelemetryStream"),
                        "ALLEYCAT_TABLE": ref("Table"),
                        "ALLEYCAT_LAKE_URI": sub(LAKE_URI),
                        "ALLEYCAT_LOG_LEVEL": "INFO",
                    }
                },
            }
        },
        "Resources": resources,
        "Outputs": {
            "StreamName": {"Value": ref("TelemetryStream")},
            "TableName": {"Value": ref("Table")},
            "LakeUri": {"Value": sub(LAKE_URI)},
            "ArtifactsBucketName": {"Value": ref("ArtifactsBucket")},
            "GlueJobName": {"Value": ref("TelemetryJob")},
            "AthenaWorkGroupName": {"Value": ref("AthenaWorkGroup")},
            "ApiUrl": {"Value": sub("https://${LeaderboardApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}")},
            "UserPoolId": {"Value": ref("UserPool")},
            "UserPoolClientId": {"Value": ref("UserPoolClient")},
            "ProducerPolicyArn": {"Value": ref("ProducerPolicy")},
            "DashboardName": {"Value": ref("Dashboard")},
        },
    }


HEADER = (
    "# GENERATED by infra/aws/build_template.py from alleycat/resources.py and\n"
    "# alleycat/domain/lake_schema.py. Do not edit: run `python -m infra.aws.build_template`.\n"
    '# Resource "*" appears only for the actions listed (with reasons) in Metadata.WildcardResourceExceptions,\n'
    '# and in the KMS key policy, where "*" means the key itself.\n'
)


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def render() -> str:
    body = yaml.dump(build(), Dumper=_Dumper, sort_keys=False, width=1000, default_flow_style=False)
    return HEADER + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if template.yaml differs from the generated one")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not TEMPLATE_PATH.exists() or TEMPLATE_PATH.read_text() != text:
            print(f"{TEMPLATE_PATH} is stale: run python -m infra.aws.build_template", file=sys.stderr)
            return 1
        return 0
    TEMPLATE_PATH.write_text(text)
    print(f"wrote {TEMPLATE_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
