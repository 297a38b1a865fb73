"""The buckets (lake, artifacts, Athena results): private, TLS only, encrypted, with lifecycle
rules, their server access logs in a fourth (the audit trail of who read and wrote what); the lake
is versioned and retained when the stack is deleted."""

from __future__ import annotations

from typing import Any

from infra.aws.template.checks import skip
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.lake.paths import DEAD_LETTER_PREFIX, LAKE, lake_key

# S3 server access logs, kept this long (the API's access log is kept as long).
ACCESS_LOG_DAYS = 90
LOGGED_BUCKETS = ("LakeBucket", "ArtifactsBucket", "AthenaResultsBucket", "PageBucket")  # the page's: page.py


def bucket(
    kms: bool,
    lifecycle: list[dict[str, Any]],
    versioned: bool = False,
    retain: bool = False,
    logs_prefix: str | None = None,
) -> dict[str, Any]:
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
    if logs_prefix is not None:
        props["LoggingConfiguration"] = {
            "DestinationBucketName": ref("AccessLogsBucket"),
            "LogFilePrefix": f"{logs_prefix}/",
        }
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


def access_logs_policy() -> dict[str, Any]:
    """The logging service may write (only) the stack's buckets' logs; TLS only for everyone."""
    tls = tls_only("AccessLogsBucket")
    tls["Properties"]["PolicyDocument"]["Statement"].append(
        {
            "Sid": "S3ServerAccessLogs",
            "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": sub("${AccessLogsBucket.Arn}/*"),
            "Condition": {
                "ArnLike": {"aws:SourceArn": [att(b) for b in LOGGED_BUCKETS]},
                "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
            },
        }
    )
    return tls


def buckets() -> dict[str, Any]:
    raw, failed = lake_key(LAKE.raw), lake_key(LAKE.processing_failed)
    lake_rules: list[dict[str, Any]] = [
        {
            "Id": "raw-telemetry",
            "Status": "Enabled",
            "Prefix": f"{raw}/",
            "Transitions": [{"StorageClass": "INTELLIGENT_TIERING", "TransitionInDays": 30}],
            "ExpirationInDays": ref("RawRetentionDays"),
        },
        {"Id": "processing-failed", "Status": "Enabled", "Prefix": f"{failed}/", "ExpirationInDays": 30},
        {"Id": "dead-letter", "Status": "Enabled", "Prefix": f"{DEAD_LETTER_PREFIX}/", "ExpirationInDays": 30},
        # Versioning undoes an accidental delete or overwrite for a week; Hudi's own cleaning and
        # compaction replace files all the time, so older versions go after that.
        {
            "Id": "old-versions",
            "Status": "Enabled",
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "ExpiredObjectDeleteMarker": True,
        },
    ]
    return {
        "LakeBucket": bucket(kms=True, lifecycle=lake_rules, versioned=True, retain=True, logs_prefix="lake"),
        "LakeBucketPolicy": tls_only("LakeBucket"),
        "ArtifactsBucket": bucket(
            kms=False,
            versioned=True,
            logs_prefix="artifacts",
            lifecycle=[
                {"Id": "old-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
            ],
        ),
        "ArtifactsBucketPolicy": tls_only("ArtifactsBucket"),
        "AthenaResultsBucket": skip(
            bucket(
                kms=True,
                lifecycle=[{"Id": "results", "Status": "Enabled", "ExpirationInDays": 7}],
                logs_prefix="athena-results",
            ),
            CKV_AWS_21="Query results, expired after 7 days and re-made by re-running the query: versions "
            "would keep what the lifecycle deletes",
        ),
        "AthenaResultsBucketPolicy": tls_only("AthenaResultsBucket"),
        # Server access logging writes with SSE-S3 only (it cannot use a KMS key on the target).
        "AccessLogsBucket": skip(
            bucket(
                kms=False,
                retain=True,
                lifecycle=[{"Id": "access-logs", "Status": "Enabled", "ExpirationInDays": ACCESS_LOG_DAYS}],
            ),
            CKV_AWS_18="This is the access-log target: logging it would log its own log deliveries",
            CKV_AWS_21="Log objects are written once by S3's logging service and expire after 90 days; "
            "nothing overwrites them",
        ),
        "AccessLogsBucketPolicy": access_logs_policy(),
    }
