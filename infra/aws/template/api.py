"""The leaderboard API: a REST API (regional) with a Cognito user-pool authorizer and a required
scope on every route, stage throttling, access logs (the caller's ``sub``, method, path; kept 90
days), and an AWS WAF web ACL in front with per-caller rate limits, so one client cannot spend
the stage's whole budget; the Cognito user pool and its client; and the cursor-signing secret.

Why REST and not an HTTP API: only REST API stages take a regional WAF web ACL (HTTP APIs would
need CloudFront in front, whose web ACLs live only in us-east-1), and WAF's rate-based rules are
what limit each caller (by IP and by bearer token) rather than everyone at once."""

from __future__ import annotations

import json
from typing import Any

from infra.aws.template.checks import skip
from infra.aws.template.intrinsics import att, ref, sub

API_STAGE = "v1"
# What an access token from the SRP flow carries; ID tokens carry no scope, so requiring it means
# the API accepts access tokens (revocable, short-lived) and nothing else.
API_SCOPE = "aws.cognito.signin.user.admin"
# Kept longer than the stack's other logs: the audit trail of who read what.
API_ACCESS_LOG_DAYS = 90
# Every route the function serves; on Lambda the API is read-only (the live channel is IoT Core).
API_METHOD = "GET"


def access_log_format() -> str:
    return json.dumps(
        {
            "requestId": "$context.requestId",
            "ip": "$context.identity.sourceIp",
            "sub": "$context.authorizer.claims.sub",
            "method": "$context.httpMethod",
            "path": "$context.path",
            "status": "$context.status",
            "latencyMs": "$context.responseLatency",
            "wafStatus": "$context.waf.status",
            "error": "$context.error.message",
        },
        separators=(",", ":"),
    )


def _rate_rule(name: str, priority: int, limit: Any, key: dict[str, Any]) -> dict[str, Any]:
    return {
        "Name": name,
        "Priority": priority,
        "Action": {"Block": {}},
        "Statement": {"RateBasedStatement": {"Limit": limit, "EvaluationWindowSec": 300, **key}},
        "VisibilityConfig": {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name},
    }


def web_acl() -> dict[str, Any]:
    """Per caller: requests per 5 minutes by bearer token (a forged one is rejected by the
    authorizer, and still counted by IP), by source IP and by forwarded viewer IP; plus AWS's
    known-bad-inputs rules."""
    return {
        "Type": "AWS::WAFv2::WebACL",
        "Properties": {
            "Name": sub("${AWS::StackName}-leaderboard"),
            "Description": "Per-caller rate limits in front of the leaderboard API",
            "Scope": "REGIONAL",
            "DefaultAction": {"Allow": {}},
            "VisibilityConfig": {
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": "leaderboard-api",
            },
            "Rules": [
                {
                    "Name": "KnownBadInputs",
                    "Priority": 0,
                    "OverrideAction": {"None": {}},
                    "Statement": {
                        "ManagedRuleGroupStatement": {
                            "VendorName": "AWS",
                            "Name": "AWSManagedRulesKnownBadInputsRuleSet",
                        }
                    },
                    "VisibilityConfig": {
                        "SampledRequestsEnabled": True,
                        "CloudWatchMetricsEnabled": True,
                        "MetricName": "KnownBadInputs",
                    },
                },
                _rate_rule(
                    "PerToken",
                    1,
                    ref("ApiCallerRequestsPer5Min"),
                    {
                        "AggregateKeyType": "CUSTOM_KEYS",
                        "CustomKeys": [
                            {
                                "Header": {
                                    "Name": "authorization",
                                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                                }
                            }
                        ],
                    },
                ),
                _rate_rule("PerIp", 2, ref("ApiIpRequestsPer5Min"), {"AggregateKeyType": "IP"}),
                # Through CloudFront (the race page, infra.aws.template.page) the source IP is an
                # edge's: count the viewer's address as CloudFront reports it too. WAF skips the
                # rule for requests without the header (direct callers) or with no address in it.
                _rate_rule(
                    "PerViewerIp",
                    3,
                    ref("ApiIpRequestsPer5Min"),
                    {
                        "AggregateKeyType": "FORWARDED_IP",
                        "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "NO_MATCH"},
                    },
                ),
            ],
        },
    }


def api() -> dict[str, Any]:
    return {
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "UserPoolName": sub("${AWS::StackName}-users"),
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "Policies": {"PasswordPolicy": {"MinimumLength": 12}},
                "DeletionProtection": "ACTIVE",
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "AccountRecoverySetting": {"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]},
            },
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": ref("UserPool"),
                "GenerateSecret": False,
                # SRP: the password never leaves the client, not even to Cognito.
                "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                "PreventUserExistenceErrors": "ENABLED",
                "EnableTokenRevocation": True,
                "AccessTokenValidity": 60,
                "IdTokenValidity": 60,
                "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes"},
            },
        },
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub("/aws/apigateway/${AWS::StackName}-leaderboard"),
                "RetentionInDays": API_ACCESS_LOG_DAYS,
                "KmsKeyId": att("DataKey"),
            },
        },
        "LeaderboardApi": skip(
            {
                "Type": "AWS::Serverless::Api",
                "Properties": {
                    "Name": sub("${AWS::StackName}-leaderboard"),
                    "Description": "Leaderboard API: Cognito authorised, per-caller limits (WAF), throttled",
                    "StageName": API_STAGE,
                    "EndpointConfiguration": {"Type": "REGIONAL"},
                    "TracingEnabled": True,
                    "Auth": {
                        "DefaultAuthorizer": "Cognito",
                        "AddDefaultAuthorizerToCorsPreflight": False,
                        "Authorizers": {
                            "Cognito": {
                                "UserPoolArn": att("UserPool"),
                                "AuthorizationScopes": [API_SCOPE],
                                "Identity": {"Header": "Authorization"},
                            }
                        },
                    },
                    "MethodSettings": [
                        {
                            "ResourcePath": "/*",
                            "HttpMethod": "*",
                            "ThrottlingRateLimit": ref("ApiRateLimit"),
                            "ThrottlingBurstLimit": ref("ApiBurstLimit"),
                            "MetricsEnabled": True,
                        }
                    ],
                    "AccessLogSetting": {"DestinationArn": att("ApiAccessLogGroup"), "Format": access_log_format()},
                },
            },
            CKV_AWS_120="No API Gateway cache: the function keeps a short-lived response cache (normalised "
            "keys), and a stage cache is billed per hour even when idle",
        ),
        "ApiWebAcl": web_acl(),
        "ApiWebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {
                "ResourceArn": sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${LeaderboardApi}/stages/"
                    "${LeaderboardApi.Stage}"
                ),
                "WebACLArn": att("ApiWebAcl"),
            },
        },
        "CursorKeySecret": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Description": "HMAC key for the API's paging cursors (ALLEYCAT_CURSOR_KEY)",
                "KmsKeyId": ref("DataKey"),
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
    }
