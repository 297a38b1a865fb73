"""The race page on AWS: its files in a private S3 bucket behind a CloudFront distribution (origin
access control), its sign-in (Cognito's managed login on the stack's user pool), and the API on the
same origin.

- **Files.** ``PageBucket`` blocks all public access; only CloudFront reads it, through the origin
  access control (SigV4 on every request), and the bucket policy allows ``cloudfront.amazonaws.com``
  exactly for this distribution (``AWS:SourceArn``). ``make deploy`` uploads the files and writes
  ``config.json`` (``infra.aws.page``). Encryption is SSE-S3, not the stack's KMS key: the files are
  the page's public code and a configuration of public ids (they are served to anyone who opens
  the page), and a KMS grant to CloudFront conditioned on the distribution would make the key
  depend on the distribution, which depends on the bucket, which names the key: a cycle.
- **Same origin for the API, no CORS.** The ``/v1/*`` behaviour forwards to the REST API's stage
  (nothing cached, every viewer header but Host forwarded, the ``Authorization`` header with them),
  so the page fetches ``/v1/classes/...`` from its own origin. CORS on the REST API was the other
  way; it needs the distribution's name in the API (its allowed origin) while the page's
  Content-Security-Policy needs the API's in the distribution: a cycle; and every fetch with a
  bearer token would be preceded by a preflight. Behind CloudFront the API's regional web ACL sees
  CloudFront's addresses as the source IP: ``PerIp`` then counts per CloudFront edge address (many
  viewers share one), so ``PerViewerIp`` (``infra.aws.template.api``) counts per viewer address as
  CloudFront reports it (the first ``X-Forwarded-For`` entry: a courtesy limit, since a viewer
  can put any address there), and ``PerToken`` stays the per-caller limit that cannot be dodged:
  every call the page makes carries its access token, and a forged one is refused by the authorizer.
- **Headers.** ``PageHeaders`` sends the local page's Content-Security-Policy
  (``consumers.api.routers.page``) with ``connect-src`` widened to exactly what the page talks to
  on AWS: the Cognito domain (token endpoint), Cognito identity (guest credentials for the live
  channel) and the IoT data endpoint over WebSocket; plus HSTS, nosniff, frame DENY, no referrer.
- **Sign-in.** ``UserPoolDomain`` (prefix ``PageAuthDomainPrefix``, or ``<stack>-<account>``) and
  ``PageUserPoolClient``, a public client for the authorization-code flow with PKCE, whose only
  callback and sign-out URL is the distribution's.
"""

from __future__ import annotations

from typing import Any

from consumers.api.routers.page import content_security_policy
from infra.aws.template.api import API_SCOPE, API_STAGE
from infra.aws.template.checks import skip
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.lake.buckets import bucket, tls_only

HAS_AUTH_DOMAIN_PREFIX = "HasPageAuthDomainPrefix"
# CloudFront's managed policies (the ids AWS publishes for them).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
PAGE_URL = "https://${PageDistribution.DomainName}/"
DISTRIBUTION_ARN = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${PageDistribution}"
AUTH_DOMAIN = "https://${AuthDomainPrefix}.auth.${AWS::Region}.amazoncognito.com"
PAGE_SCOPES = ["openid", API_SCOPE]
# Short-lived sign-ins: an access token for 30 minutes, refreshed for up to 8 hours (a race day).
ACCESS_TOKEN_MINUTES = 30
REFRESH_TOKEN_HOURS = 8
HSTS_SECONDS = 63_072_000  # two years


def parameters() -> dict[str, Any]:
    return {
        "PageAuthDomainPrefix": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)?$",
            "Description": "Cognito sign-in domain prefix (<prefix>.auth.<region>.amazoncognito.com); empty: "
            "<stack name>-<account id> (then the stack name must be lower case)",
        }
    }


def conditions() -> dict[str, Any]:
    return {HAS_AUTH_DOMAIN_PREFIX: {"Fn::Not": [{"Fn::Equals": [ref("PageAuthDomainPrefix"), ""]}]}}


def _auth_domain_prefix() -> dict[str, Any]:
    return {"Fn::If": [HAS_AUTH_DOMAIN_PREFIX, ref("PageAuthDomainPrefix"), sub("${AWS::StackName}-${AWS::AccountId}")]}


def auth_domain() -> dict[str, Any]:
    """The managed login's origin, https://<prefix>.auth.<region>.amazoncognito.com."""
    return {"Fn::Sub": [AUTH_DOMAIN, {"AuthDomainPrefix": _auth_domain_prefix()}]}


def connect_origins() -> list[str]:
    """What the page on AWS may connect to besides its own origin (``${...}``: Fn::Sub's)."""
    return [
        AUTH_DOMAIN,
        "https://cognito-identity.${AWS::Region}.amazonaws.com",
        "wss://${IotHost}",
    ]


def page_policy() -> dict[str, Any]:
    """The Content-Security-Policy CloudFront sends with the page."""
    text = content_security_policy(" ".join(["'self'", *connect_origins()]))
    # The IoT data endpoint parameter is https://<host>; the page opens wss://<host>/mqtt.
    iot_host = {"Fn::Select": [1, {"Fn::Split": ["https://", ref("IotDataEndpoint")]}]}
    return {"Fn::Sub": [text, {"AuthDomainPrefix": _auth_domain_prefix(), "IotHost": iot_host}]}


def bucket_policy() -> dict[str, Any]:
    """TLS only for everyone (as the stack's other buckets); reads by this distribution only."""
    policy = tls_only("PageBucket")
    policy["Properties"]["PolicyDocument"]["Statement"].append(
        {
            "Sid": "CloudFrontReadsThroughOriginAccessControl",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": sub("${PageBucket.Arn}/*"),
            "Condition": {"StringEquals": {"AWS:SourceArn": sub(DISTRIBUTION_ARN)}},
        }
    )
    return policy


def headers_policy() -> dict[str, Any]:
    return {
        "Type": "AWS::CloudFront::ResponseHeadersPolicy",
        "Properties": {
            "ResponseHeadersPolicyConfig": {
                "Name": sub("${AWS::StackName}-page"),
                "Comment": "The race page's security headers (consumers/api/routers/page.py, connect-src for AWS)",
                "SecurityHeadersConfig": {
                    "ContentSecurityPolicy": {"ContentSecurityPolicy": page_policy(), "Override": True},
                    "ContentTypeOptions": {"Override": True},
                    "FrameOptions": {"FrameOption": "DENY", "Override": True},
                    "ReferrerPolicy": {"ReferrerPolicy": "no-referrer", "Override": True},
                    "StrictTransportSecurity": {
                        "AccessControlMaxAgeSec": HSTS_SECONDS,
                        "IncludeSubdomains": True,
                        "Override": True,
                    },
                },
            }
        },
    }


def distribution() -> dict[str, Any]:
    api_host = sub("${LeaderboardApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}")
    return skip(
        {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Comment": sub("${AWS::StackName}: the race page and its API"),
                    "Enabled": True,
                    "DefaultRootObject": "index.html",
                    "HttpVersion": "http2and3",
                    "IPV6Enabled": True,
                    "PriceClass": "PriceClass_100",
                    "ViewerCertificate": {"CloudFrontDefaultCertificate": True},
                    "Origins": [
                        {
                            "Id": "page",
                            "DomainName": att("PageBucket", "RegionalDomainName"),
                            "OriginAccessControlId": att("PageOriginAccessControl", "Id"),
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        },
                        {
                            "Id": "api",
                            "DomainName": api_host,
                            "CustomOriginConfig": {
                                "OriginProtocolPolicy": "https-only",
                                "OriginSSLProtocols": ["TLSv1.2"],
                            },
                        },
                    ],
                    # The files: cached, but sent with Cache-Control: no-cache, so CloudFront
                    # revalidates them with S3 after its 1 s minimum (a deploy shows at once).
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "page",
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "AllowedMethods": ["GET", "HEAD"],
                        "CachedMethods": ["GET", "HEAD"],
                        "Compress": True,
                        "CachePolicyId": CACHING_OPTIMIZED,
                        "ResponseHeadersPolicyId": ref("PageHeaders"),
                    },
                    # The API's stage path: never cached (answers depend on the token), https only
                    # (a redirect would come after the token went out in the clear).
                    "CacheBehaviors": [
                        {
                            "PathPattern": f"/{API_STAGE}/*",
                            "TargetOriginId": "api",
                            "ViewerProtocolPolicy": "https-only",
                            "AllowedMethods": ["GET", "HEAD"],
                            "CachedMethods": ["GET", "HEAD"],
                            "Compress": True,
                            "CachePolicyId": CACHING_DISABLED,
                            "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST_HEADER,
                            "ResponseHeadersPolicyId": ref("PageHeaders"),
                        }
                    ],
                }
            },
        },
        CKV_AWS_68="A CloudFront web ACL can only be made in us-east-1, and the stack is regional: the API "
        "behind the distribution keeps its regional web ACL (per-token, per-viewer and per-IP limits)",
        CKV_AWS_86="Standard logs to S3 need ACLs on the target bucket, which the stack's log bucket "
        "disables (bucket owner enforced); the page bucket's S3 access log and the API's access log "
        "record what the distribution fetches",
        CKV_AWS_174="The default *.cloudfront.net certificate: CloudFront fixes its security policy "
        "itself; a custom domain's ACM certificate would take TLSv1.2_2021",
    )


def user_pool_client() -> dict[str, Any]:
    return {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "UserPoolId": ref("UserPool"),
            "ClientName": sub("${AWS::StackName}-page"),
            "GenerateSecret": False,  # a browser keeps no secret: PKCE binds the code to the page
            "AllowedOAuthFlowsUserPoolClient": True,
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthScopes": PAGE_SCOPES,
            "SupportedIdentityProviders": ["COGNITO"],
            "CallbackURLs": [sub(PAGE_URL)],
            "LogoutURLs": [sub(PAGE_URL)],
            "ExplicitAuthFlows": ["ALLOW_REFRESH_TOKEN_AUTH"],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "AccessTokenValidity": ACCESS_TOKEN_MINUTES,
            "IdTokenValidity": ACCESS_TOKEN_MINUTES,
            "RefreshTokenValidity": REFRESH_TOKEN_HOURS,
            "TokenValidityUnits": {"AccessToken": "minutes", "IdToken": "minutes", "RefreshToken": "hours"},
        },
    }


def page_resources() -> dict[str, Any]:
    return {
        "PageBucket": bucket(
            kms=False,
            versioned=True,
            logs_prefix="page",
            lifecycle=[
                {"Id": "old-versions", "Status": "Enabled", "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}
            ],
        ),
        "PageBucketPolicy": bucket_policy(),
        "PageOriginAccessControl": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": sub("${AWS::StackName}-page"),
                    "Description": "CloudFront signs every request for the page's files",
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        "PageHeaders": headers_policy(),
        "PageDistribution": distribution(),
        "UserPoolDomain": {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": {"UserPoolId": ref("UserPool"), "Domain": _auth_domain_prefix()},
        },
        "PageUserPoolClient": user_pool_client(),
    }


def outputs() -> dict[str, Any]:
    """The page's URL, and what ``infra.aws.page.page_config`` writes into config.json."""
    return {
        "PageUrl": {"Value": sub(PAGE_URL)},
        "PageBucketName": {"Value": ref("PageBucket")},
        "PageDistributionId": {"Value": ref("PageDistribution")},
        "PageApiBase": {"Value": f"/{API_STAGE}"},
        "PageAuthDomain": {"Value": auth_domain()},
        "PageUserPoolClientId": {"Value": ref("PageUserPoolClient")},
        "PageScopes": {"Value": " ".join(PAGE_SCOPES)},
        "IotDataEndpoint": {"Value": ref("IotDataEndpoint")},
        "Region": {"Value": ref("AWS::Region")},
    }
