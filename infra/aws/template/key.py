"""The stack's KMS key: stream, table, queues, lake, Athena results and the alarm topic are
encrypted with it; the roles may use it only through the service they read or write."""

from __future__ import annotations

from typing import Any

from infra.aws.template.intrinsics import sub


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
                        # CloudWatch Logs encrypts the stack's log groups (function, API access, Firehose,
                        # Glue) with this key, only for log groups of this account and region.
                        "Sid": "LogsEncryptOwnLogGroups",
                        "Effect": "Allow",
                        "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
                        "Action": [
                            "kms:Encrypt*",
                            "kms:Decrypt*",
                            "kms:ReEncrypt*",
                            "kms:GenerateDataKey*",
                            "kms:Describe*",
                        ],
                        "Resource": "*",
                        "Condition": {
                            "ArnLike": {
                                "kms:EncryptionContext:aws:logs:arn": sub(
                                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
                                )
                            }
                        },
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
