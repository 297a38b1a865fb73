"""IAM building blocks: one least-privilege role per function and job, statements on named
resources, and the few actions AWS only authorises on ``Resource: "*"``."""

from __future__ import annotations

from typing import Any

from infra.aws.template.intrinsics import att, sub

# Actions that AWS only authorises on Resource "*". Any statement whose Resource is "*" may only
# hold these; the reason is written into the template (Metadata) and checked by the tests.
WILDCARD_EXCEPTIONS: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions (Tracing: Active)",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions (Tracing: Active)",
    "dynamodb:ListStreams": "Lambda's DynamoDB Streams poller lists streams; the action takes no resource",
    "cloudwatch:PutMetricData": "CloudWatch metrics have no resource ARNs; limited to the Glue namespace by condition",
    **{
        action: "Lambda's MSK poller looks up the cluster's network for its interfaces; EC2 Describe* calls "
        "take no resource (Transport=MSK only)"
        for action in (
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
        )
    },
}


def stmt(actions: list[str], resources: list[Any], sid: str, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources, **extra}


def kms_via(service: str, actions: list[str], sid: str) -> dict[str, Any]:
    """Use of the stack's key, only through ``service`` (the key encrypts everything at rest)."""
    return stmt(
        actions,
        [att("DataKey")],
        sid,
        Condition={"StringEquals": {"kms:ViaService": sub(f"{service}.${{AWS::Region}}.amazonaws.com")}},
    )


def logs_stmt(log_group: str) -> dict[str, Any]:
    return stmt(["logs:CreateLogStream", "logs:PutLogEvents"], [att(log_group)], "WriteOwnLogs")


XRAY_STMT = stmt(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"], "XRayNoResourceLevel")


def policy(name: str, statements: list[dict[str, Any]]) -> dict[str, Any]:
    """An inline policy of a role."""
    return {"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}


def role(
    description: str, service: str, statements: list[dict[str, Any]], extra_policies: list[Any] | None = None
) -> dict[str, Any]:
    """A role that ``service`` assumes, with one inline policy (no AWS managed policies), and
    ``extra_policies`` (e.g. ``Fn::If`` of two inline policies, by transport)."""
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
            "Policies": [policy("least-privilege", statements), *(extra_policies or [])],
        },
    }
