"""Alarms, all to one encrypted SNS topic (optional e-mail): the stream falling behind or
throttled, Firehose delivery, the Glue job, API 5xx, table throttling, and per function its
errors, throttles and, for the mapped ones, iterator age and dead letters."""

from __future__ import annotations

from typing import Any

from alleycat.resources import STREAM_RETENTION_HOURS, MappingDef
from infra.aws.template.api import API_STAGE
from infra.aws.template.conditions import IS_KINESIS, IS_MSK, when
from infra.aws.template.functions import FunctionSpec
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.mappings import dead_letter_queue_name
from infra.aws.template.table import INDEX_NAMES

# Iterator age alarms fire at this fraction of the stream's retention (requirement: below 50%).
ITERATOR_AGE_ALARM_FRACTION = 0.25
# The API's client-error alarm: the share of requests answered 4xx, over three 5-minute periods.
API_4XX_RATE = 0.05
# The MSK mapping's lag alarm: this many seconds of full load (six classes of 1,000 riders) unread.
FULL_LOAD_RECORDS_PER_S = 6_000
OFFSET_LAG_ALARM_S = 300
API_DIMENSIONS: dict[str, Any] = {"ApiName": sub("${AWS::StackName}-leaderboard"), "Stage": API_STAGE}


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


def kinesis_only(resource: dict[str, Any]) -> dict[str, Any]:
    return when(IS_KINESIS, resource)


def iterator_age_threshold_ms(m: MappingDef) -> int:
    """Half the record age limit (records older than it go to the DLQ, so the age never grows
    past it), and never more than ITERATOR_AGE_ALARM_FRACTION of the stream's retention."""
    retention_ms = STREAM_RETENTION_HOURS * 3600 * 1000
    limit = retention_ms * ITERATOR_AGE_ALARM_FRACTION
    if m.maximum_record_age_s > 0:
        limit = min(limit, m.maximum_record_age_s * 1000 / 2)
    return int(limit)


def alarms(specs: list[FunctionSpec]) -> dict[str, Any]:
    """The alarm topic, its policy and subscription, and every alarm (and the Glue job state rule)."""
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
        "StreamIteratorAgeAlarm": kinesis_only(
            alarm(
                f"Oldest unread record in the stream (any consumer, Firehose included) is older than "
                f"{ITERATOR_AGE_ALARM_FRACTION:.0%} of the {STREAM_RETENTION_HOURS} h retention",
                "AWS/Kinesis",
                "GetRecords.IteratorAgeMilliseconds",
                {"StreamName": ref("TelemetryStream")},
                "Maximum",
                "GreaterThanThreshold",
                STREAM_RETENTION_HOURS * 3600 * 1000 * ITERATOR_AGE_ALARM_FRACTION,
            )
        ),
        "StreamWriteThrottleAlarm": kinesis_only(
            alarm(
                "Producers are throttled by the stream (add shards)",
                "AWS/Kinesis",
                "WriteProvisionedThroughputExceeded",
                {"StreamName": ref("TelemetryStream")},
                "Sum",
                "GreaterThanThreshold",
                0,
            )
        ),
        "StreamReadThrottleAlarm": kinesis_only(
            alarm(
                "Consumers are throttled by the stream's read quota (5 GetRecords/s, 2 MiB/s per shard)",
                "AWS/Kinesis",
                "ReadProvisionedThroughputExceeded",
                {"StreamName": ref("TelemetryStream")},
                "Sum",
                "GreaterThanThreshold",
                0,
                period=60,
                evaluation_periods=5,
            )
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
            "5XXError",
            API_DIMENSIONS,
            "Sum",
            "GreaterThanThreshold",
            0,
        ),
        # 429s (stage throttling) and 401/403s (bad tokens) are 4XXError; a caller stopped by the web
        # ACL's rate rules is counted by WAF.
        "ApiClientErrorAlarm": alarm(
            f"More than {API_4XX_RATE:.0%} of leaderboard API requests get 4xx (throttled, unauthorised, bad requests)",
            "AWS/ApiGateway",
            "4XXError",
            API_DIMENSIONS,
            "Average",
            "GreaterThanThreshold",
            API_4XX_RATE,
            evaluation_periods=3,
        ),
        "ApiRateLimitedAlarm": alarm(
            "A caller hit the API's per-caller rate limit (WAF blocked requests)",
            "AWS/WAFV2",
            "BlockedRequests",
            {"WebACL": sub("${AWS::StackName}-leaderboard"), "Region": ref("AWS::Region"), "Rule": "ALL"},
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
            iterator_age = alarm(
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
            if spec.source_policy is None:
                out[f"{spec.name}IteratorAgeAlarm"] = iterator_age
            else:  # the telemetry's reader: IteratorAge from Kinesis, OffsetLag (records) from MSK
                out[f"{spec.name}IteratorAgeAlarm"] = kinesis_only(iterator_age)
                out[f"{spec.name}OffsetLagAlarm"] = when(
                    IS_MSK,
                    alarm(
                        f"{spec.name} is more than {OFFSET_LAG_ALARM_S // 60} minutes of full load behind the topic",
                        "AWS/Lambda",
                        "OffsetLag",
                        {"FunctionName": fn},
                        "Maximum",
                        "GreaterThanThreshold",
                        FULL_LOAD_RECORDS_PER_S * OFFSET_LAG_ALARM_S,
                        period=60,
                        evaluation_periods=5,
                    ),
                )
            out[f"{spec.name}DeadLetterAlarm"] = alarm(
                f"{spec.name} gave up on records: they are in its dead-letter queue",
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": att(dead_letter_queue_name(m), "QueueName")},
                "Maximum",
                "GreaterThanThreshold",
                0,
            )
    return out
