"""Event source mappings, from ``alleycat.resources.MAPPINGS`` (what the local runtime also runs):
the SAM event of each mapped function (the Kinesis one as a resource of its own, created only with
``Transport=Kinesis``: a SAM event cannot take a condition), the grants its poller needs, and its
on-failure queue. The MSK mapping is ``infra.aws.template.kafka``'s."""

from __future__ import annotations

from typing import Any

from alleycat.resources import KafkaMappingDef, MappingDef
from infra.aws.template.conditions import IS_KINESIS, when
from infra.aws.template.iam import kms_via, stmt
from infra.aws.template.intrinsics import att, ref
from infra.aws.template.stream import KINESIS_READ
from infra.aws.template.table import DDB_STREAM_READ


def dead_letter_queue_name(m: MappingDef | KafkaMappingDef) -> str:
    return f"{m.name}DeadLetterQueue"


def mapping_statements(m: MappingDef) -> list[dict[str, Any]]:
    dlq = dead_letter_queue_name(m)
    out = [
        stmt(["sqs:SendMessage"], [att(dlq)], "OnFailureDestination"),
        kms_via("sqs", ["kms:Decrypt", "kms:GenerateDataKey"], "OnFailureDestinationKey"),
    ]
    if m.source == "dynamodb":
        out += [
            stmt(DDB_STREAM_READ, [att("Table", "StreamArn")], "ReadTableStream"),
            stmt(["dynamodb:ListStreams"], ["*"], "ListStreamsNoResourceLevel"),
            kms_via("dynamodb", ["kms:Decrypt"], "ReadTableStreamKey"),
        ]
    return out


def kinesis_read_statements() -> list[dict[str, Any]]:
    """What a Kinesis mapping's poller needs (in a policy of its own: only with Transport=Kinesis)."""
    return [
        stmt(KINESIS_READ, [att("TelemetryStream")], "ReadStream"),
        kms_via("kinesis", ["kms:Decrypt"], "ReadStreamKey"),
    ]


def kinesis_mapping(m: MappingDef) -> dict[str, Any]:
    """The Kinesis mapping as the resource SAM makes of the event (``<Function><Event>``, the same
    logical id SAM gives it, so a stack deployed before keeps its mapping and its position)."""
    e = event_for(m)["Properties"]
    props = {"FunctionName": ref(f"{m.name}Function"), "EventSourceArn": e.pop("Stream"), **e}
    return when(IS_KINESIS, {"Type": "AWS::Lambda::EventSourceMapping", "Properties": props})


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
        "DestinationConfig": {"OnFailure": {"Destination": att(dead_letter_queue_name(m))}},
    }
    if m.report_batch_item_failures:
        props["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    if m.tumbling_window_s is not None:
        props["TumblingWindowInSeconds"] = m.tumbling_window_s
    return {"Type": "Kinesis" if m.source == "kinesis" else "DynamoDB", "Properties": props}


def dead_letter_queue() -> dict[str, Any]:
    """Where the poller sends a batch's metadata when it gives up on it (14 days, the maximum)."""
    return {
        "Type": "AWS::SQS::Queue",
        "Properties": {
            "KmsMasterKeyId": ref("DataKey"),
            "MessageRetentionPeriod": 14 * 24 * 3600,
        },
    }
