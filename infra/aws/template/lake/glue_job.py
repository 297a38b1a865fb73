"""The Glue streaming job (glue_jobs/telemetry_job.py on Glue 5.1 with Hudi): raw Parquet to the
Hudi tables, Hive-synced into the stack's Glue database. Its files are uploaded by `make deploy`."""

from __future__ import annotations

from typing import Any

from alleycat.resources import GLUE_DATABASE, RAW_TABLE
from infra.aws.template.iam import kms_via, role, stmt
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.lake.paths import LAKE, LAKE_URI, lake_key, lake_objects

GLUE_VERSION = "5.1"  # Spark 3.5.6, Python 3.11, Hudi 1.0.2 (AWS Glue release notes)
GLUE_SCRIPT = "telemetry_job.py"  # glue_jobs/telemetry_job.py, uploaded by `make deploy`
GLUE_EXTRA_PY = "alleycat-glue.zip"  # the alleycat and glue_jobs packages, built by `make package`


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
        {
            # The raw table is Firehose's schema (alleycat.lake.schema): Hive sync must not alter it.
            "Sid": "RawTableSchemaIsNotTheJobs",
            "Effect": "Deny",
            "Action": ["glue:UpdateTable", "glue:DeleteTable", "glue:CreateTable"],
            "Resource": [sub(f"{glue_arn}:table/{GLUE_DATABASE}/{RAW_TABLE}")],
        },
        stmt(
            ["logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"],
            [att("GlueLogGroup"), sub(f"{logs_arn}:log-group:/aws-glue/jobs/*")],
            "JobLogs",
        ),
        # The security configuration encrypts its logs, bookmarks and S3 writes with the stack's key.
        kms_via("logs", ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"], "JobLogsKey"),
        # glue_jobs.reconcile: the lake corrects RESULT and BEST items after each commit
        stmt(["dynamodb:BatchWriteItem", "dynamodb:UpdateItem"], [att("Table")], "ReconcileResults"),
        kms_via("dynamodb", ["kms:Decrypt", "kms:GenerateDataKey"], "ReconcileResultsKey"),
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
                "KmsKeyId": att("DataKey"),
            },
        },
        "GlueSecurityConfiguration": {
            "Type": "AWS::Glue::SecurityConfiguration",
            "Properties": {
                "Name": sub("${AWS::StackName}-telemetry"),
                "EncryptionConfiguration": {
                    "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": att("DataKey")}],
                    "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": att("DataKey")},
                    "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": att("DataKey")},
                },
            },
        },
        "TelemetryJob": {
            "Type": "AWS::Glue::Job",
            "Properties": {
                "Name": sub("${AWS::StackName}-telemetry"),
                "Description": "Streaming: raw telemetry (Parquet) to Hudi tables, Hive-synced into the Glue catalog",
                "Role": att("GlueJobRole"),
                "SecurityConfiguration": ref("GlueSecurityConfiguration"),
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
                    "--results_table": ref("Table"),
                },
            },
        },
    }
