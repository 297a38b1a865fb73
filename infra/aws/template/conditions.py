"""The template's transport choice: the ``Transport`` parameter (Kinesis or MSK), its conditions,
and the two ways resources depend on it (a resource's ``Condition``, a value's ``Fn::If``)."""

from __future__ import annotations

from typing import Any

from infra.aws.template.intrinsics import ref

IS_KINESIS = "IsKinesis"
IS_MSK = "IsMSK"


def transport_parameter() -> dict[str, Any]:
    return {
        "Type": "String",
        "Default": "Kinesis",
        "AllowedValues": ["Kinesis", "MSK"],
        "Description": "what carries telemetry to the Aggregator and Firehose: a Kinesis stream, or an "
        "MSK Serverless cluster (IAM auth) in a private VPC of the stack's own",
    }


def transport_conditions() -> dict[str, Any]:
    return {
        IS_KINESIS: {"Fn::Equals": [ref("Transport"), "Kinesis"]},
        IS_MSK: {"Fn::Equals": [ref("Transport"), "MSK"]},
    }


def if_kinesis(kinesis: Any, msk: Any) -> dict[str, Any]:
    return {"Fn::If": [IS_KINESIS, kinesis, msk]}


def when(condition: str, resource: dict[str, Any]) -> dict[str, Any]:
    """``resource``, created only when ``condition`` holds."""
    return {**resource, "Condition": condition}
