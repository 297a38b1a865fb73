"""The live channel on AWS: the Publisher posts standings to IoT Core topics, one per race and
class (``alleycat.domain.keys.live_topic``), through the account's IoT data endpoint (a parameter:
`make deploy` looks it up). There is no resource to declare; the topic pattern bounds the grant."""

from __future__ import annotations

from typing import Any

from alleycat.domain.keys import live_topic_filter
from infra.aws.template.iam import stmt
from infra.aws.template.intrinsics import ref, sub

IOT_TOPIC = live_topic_filter("*", "*")  # every race and class: alleycat/races/*/*/standings


def publish_stmt() -> dict[str, Any]:
    topics = sub(f"arn:${{AWS::Partition}}:iot:${{AWS::Region}}:${{AWS::AccountId}}:topic/{IOT_TOPIC}")
    return stmt(["iot:Publish"], [topics], "PublishStandings")


def publisher_environment() -> dict[str, Any]:
    """boto3's iot-data client finds the endpoint in its standard variable."""
    return {"AWS_ENDPOINT_URL_IOT_DATA": ref("IotDataEndpoint")}
