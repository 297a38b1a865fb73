"""The three buckets (lake, artifacts, Athena results): private, TLS only, encrypted, with
lifecycle rules; the lake is retained when the stack is deleted."""

from __future__ import annotations

from typing import Any

from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.lake.paths import DEAD_LETTER_PREFIX, LAKE, lake_key


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
