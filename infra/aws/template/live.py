"""The live channel on AWS: the Publisher posts standings to IoT Core topics, one per race and
class (``alleycat.domain.keys.live_topic``), through the account's IoT data endpoint (a parameter:
`make deploy` looks it up). Subscribers (the public race page) get guest credentials from a Cognito
identity pool whose role may connect with its own client id (its identity id) and subscribe to and
receive the standings topics, and nothing else: never publish. The topic pattern bounds both grants."""

from __future__ import annotations

from typing import Any

from alleycat.domain.keys import live_topic_filter
from infra.aws.template.checks import skip
from infra.aws.template.iam import stmt
from infra.aws.template.intrinsics import ref, sub

IOT_TOPIC = live_topic_filter("*", "*")  # every race and class: alleycat/races/*/*/standings
IOT_ARN = "arn:${AWS::Partition}:iot:${AWS::Region}:${AWS::AccountId}"
# IAM's policy variable for the caller's identity id (``${!...}``: Fn::Sub leaves it to IAM).
IDENTITY_ID = "${!cognito-identity.amazonaws.com:sub}"


def publish_stmt() -> dict[str, Any]:
    return stmt(["iot:Publish"], [sub(f"{IOT_ARN}:topic/{IOT_TOPIC}")], "PublishStandings")


def publisher_environment() -> dict[str, Any]:
    """boto3's iot-data client finds the endpoint in its standard variable."""
    return {"AWS_ENDPOINT_URL_IOT_DATA": ref("IotDataEndpoint")}


def subscriber_statements() -> list[dict[str, Any]]:
    return [
        stmt(["iot:Connect"], [sub(f"{IOT_ARN}:client/{IDENTITY_ID}")], "ConnectAsOwnIdentity"),
        stmt(["iot:Subscribe"], [sub(f"{IOT_ARN}:topicfilter/{IOT_TOPIC}")], "SubscribeStandings"),
        stmt(["iot:Receive"], [sub(f"{IOT_ARN}:topic/{IOT_TOPIC}")], "ReceiveStandings"),
    ]


def live_subscribers() -> dict[str, Any]:
    """Guest (unauthenticated) identities only: the standings are public, like the race page."""
    return {
        "LiveIdentityPool": skip(
            {
                "Type": "AWS::Cognito::IdentityPool",
                "Properties": {
                    "IdentityPoolName": sub("${AWS::StackName}_live"),
                    "AllowUnauthenticatedIdentities": True,
                    # The enhanced flow only: guests get this pool's role, scoped down by Cognito's session policy.
                    "AllowClassicFlow": False,
                },
            },
            CKV_AWS_366="Guest access is the point: live standings are public (the race page); the guest role "
            "may only connect as its own identity and subscribe to/receive the standings topics, never publish",
        ),
        "LiveSubscriberRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": "Live standings subscribers (guest identities): connect, subscribe, receive",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                            "Action": "sts:AssumeRoleWithWebIdentity",
                            "Condition": {
                                "StringEquals": {"cognito-identity.amazonaws.com:aud": ref("LiveIdentityPool")},
                                "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"},
                            },
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "subscribe-standings",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": subscriber_statements()},
                    }
                ],
            },
        },
        "LiveIdentityPoolRoles": {
            "Type": "AWS::Cognito::IdentityPoolRoleAttachment",
            "Properties": {
                "IdentityPoolId": ref("LiveIdentityPool"),
                "Roles": {"unauthenticated": {"Fn::GetAtt": ["LiveSubscriberRole", "Arn"]}},
            },
        },
    }
