"""The leaderboard API: an HTTP API with a Cognito JWT authorizer on every route, stage
throttling and access logs, in front of the Api function; and the cursor-signing secret."""

from __future__ import annotations

import json
from typing import Any

from infra.aws.template.intrinsics import att, ref, sub


def api() -> dict[str, Any]:
    access_log_format = json.dumps(
        {
            "requestId": "$context.requestId",
            "ip": "$context.identity.sourceIp",
            "routeKey": "$context.routeKey",
            "status": "$context.status",
            "latencyMs": "$context.responseLatency",
            "error": "$context.error.message",
            "authError": "$context.authorizer.error",
        },
        separators=(",", ":"),
    )
    return {
        "UserPool": {
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UserPoolName": sub("${AWS::StackName}-users"),
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
                "Policies": {"PasswordPolicy": {"MinimumLength": 12}},
            },
        },
        "UserPoolClient": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": ref("UserPool"),
                "GenerateSecret": False,
                "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            },
        },
        "ApiAccessLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub("/aws/apigateway/${AWS::StackName}-leaderboard"),
                "RetentionInDays": ref("LogRetentionDays"),
            },
        },
        "LeaderboardApi": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Description": "Leaderboard API: JWT (Cognito) authorised, throttled",
                "Auth": {
                    "DefaultAuthorizer": "CognitoJwt",
                    "Authorizers": {
                        "CognitoJwt": {
                            "IdentitySource": "$request.header.Authorization",
                            "JwtConfiguration": {
                                "issuer": sub("https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"),
                                "audience": [ref("UserPoolClient")],
                            },
                        }
                    },
                },
                "DefaultRouteSettings": {
                    "ThrottlingBurstLimit": ref("ApiBurstLimit"),
                    "ThrottlingRateLimit": ref("ApiRateLimit"),
                },
                "AccessLogSettings": {"DestinationArn": att("ApiAccessLogGroup"), "Format": access_log_format},
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
