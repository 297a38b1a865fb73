"""The AWS SAM template: generated from the shared definitions, lint-clean, least privilege,
encrypted, and in agreement with alleycat.resources and the raw lake schema. Most tests read the
template as CloudFormation resolves it with ``Transport=Kinesis`` (the default); the least-privilege
and encryption ones with both values, and the MSK variant's own tests with ``Transport=MSK``."""

from __future__ import annotations

import ast
import fnmatch
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from alleycat.domain.keys import live_topic
from alleycat.lake.layout import LakeLayout
from alleycat.lake.schema import RAW_PARTITIONS, glue_columns
from alleycat.resources import (
    FIREHOSE_BUFFER_SECONDS,
    GLUE_DATABASE,
    KAFKA_AGGREGATOR,
    MAPPINGS,
    RAW_TABLE,
    STREAM_RETENTION_HOURS,
    TTL_ATTRIBUTE,
    table_definition,
)
from consumers.api.routers.page import POLICY
from infra.aws import scan
from infra.aws.template.assemble import COMMAND, render
from infra.aws.template.checks import skips
from infra.aws.template.functions import function_specs
from infra.aws.template.iam import WILDCARD_EXCEPTIONS
from infra.aws.template.kafka import IAM_PORT, TOPIC
from infra.aws.template.lake.glue_job import GLUE_SCRIPT

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "infra" / "aws" / "template.yaml"
SAM = REPO / "build" / "tools" / "sam" / "bin" / "sam"


TRANSPORTS = ("Kinesis", "MSK")
_NO_VALUE = {"Ref": "AWS::NoValue"}


def resolved(template: dict[str, Any], transport: str) -> dict[str, Any]:
    """``template`` as CloudFormation resolves it for ``Transport=transport``: the resources and
    outputs of false conditions dropped, ``Fn::If`` of the transport's conditions decided,
    ``AWS::NoValue`` removed (other conditions, e.g. HasAlarmEmail, are left as they are)."""
    known = {"IsKinesis": transport == "Kinesis", "IsMSK": transport == "MSK"}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            cond = node.get("Fn::If")
            if isinstance(cond, list) and cond[0] in known:
                return walk(cond[1] if known[cond[0]] else cond[2])
            out = {k: walk(v) for k, v in node.items()}
            return {k: v for k, v in out.items() if v != _NO_VALUE}
        if isinstance(node, list):
            return [walk(v) for v in node if walk(v) != _NO_VALUE]
        return node

    out = walk(template)
    for section in ("Resources", "Outputs"):
        out[section] = {k: v for k, v in out[section].items() if known.get(v.get("Condition", ""), True)}
    return out


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    return yaml.safe_load(TEMPLATE.read_text())


@pytest.fixture(scope="module")
def template(generated: dict[str, Any]) -> dict[str, Any]:
    return resolved(generated, "Kinesis")


@pytest.fixture(scope="module")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]


@pytest.fixture(scope="module")
def msk(generated: dict[str, Any]) -> dict[str, Any]:
    return resolved(generated, "MSK")["Resources"]


@pytest.fixture(scope="module", params=TRANSPORTS)
def either(generated: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """The resources with each value of Transport."""
    return resolved(generated, request.param)["Resources"]


def stream_mappings(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per function, its Kinesis or DynamoDB mapping's properties, whether a SAM event or a mapping
    resource of its own (the Kinesis one: it takes the Transport condition), as SAM's event names them."""
    out = {}
    for name, f in of_type(resources, "AWS::Serverless::Function").items():
        for e in f["Properties"].get("Events", {}).values():
            if e["Type"] in ("Kinesis", "DynamoDB"):
                out[name] = {"Type": e["Type"], **e["Properties"]}
    for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values():
        props = dict(m["Properties"])
        if props["EventSourceArn"] == {"Fn::GetAtt": ["TelemetryStream", "Arn"]}:
            out[props.pop("FunctionName")["Ref"]] = {"Type": "Kinesis", "Stream": props.pop("EventSourceArn"), **props}
    return out


def of_type(resources: dict[str, Any], typ: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in resources.items() if r["Type"] == typ}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- generated, and valid ----------------------------------------------------------------------


def test_committed_template_is_the_generated_one() -> None:
    assert TEMPLATE.read_text() == render(), f"stale: run `{COMMAND}` and commit"


def test_cfn_lint_reports_no_errors() -> None:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(TEMPLATE, config=ManualArgs(regions=["us-east-1", "eu-west-1"]))
    errors = [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches if m.rule.severity == "error"]
    assert errors == []


def test_cfn_lint_catches_a_broken_template(tmp_path: Path) -> None:
    """The lint test above can fail: a wrong property type in a copy of the template is an error."""
    from cfnlint.api import ManualArgs, lint_file

    data = yaml.safe_load(TEMPLATE.read_text())
    data["Resources"]["TelemetryStream"]["Properties"]["RetentionPeriodHours"] = "a day"
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(data))
    matches = lint_file(broken, config=ManualArgs(regions=["us-east-1"]))
    assert any(m.rule.severity == "error" for m in matches)


def test_sam_validate_lint() -> None:
    assert SAM.exists(), "the SAM CLI is not installed: `make setup` installs it in build/tools/sam"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_REGION": "us-east-1"}
    for args in (["--lint"], ["--region", "us-east-1"]):  # cfn-lint, then the SAM translator (offline)
        done = subprocess.run(
            [str(SAM), "validate", *args, "-t", str(TEMPLATE)], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr


# --- least privilege -------------------------------------------------------------------------


def policy_statements(resources: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for name, r in resources.items():
        props = r.get("Properties", {})
        if r["Type"] == "AWS::IAM::Role":
            docs = [p["PolicyDocument"] for p in props.get("Policies", [])]
            assert "ManagedPolicyArns" not in props, f"{name}: AWS managed policies are not least privilege"
        elif r["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            docs = [props["PolicyDocument"]]
        else:
            continue
        out += [(name, s) for doc in docs for s in doc["Statement"]]
    return out


def resource_text(resource: Any) -> str:
    if isinstance(resource, str):
        return resource
    if "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return sub if isinstance(sub, str) else sub[0]  # the long form: [text, variables]
    return ""  # Ref / GetAtt of a declared resource: named by construction


def test_no_wildcard_actions(either: dict[str, Any]) -> None:
    statements = policy_statements(either)
    assert len(statements) > 20
    for name, s in statements:
        if s["Effect"] == "Deny":  # a deny only narrows what the allows grant
            continue
        assert s["Effect"] == "Allow", f"{name}: {s}"
        for action in as_list(s["Action"]):
            assert "*" not in action, f"{name}/{s.get('Sid')}: wildcard action {action}"


def test_wildcard_resources_only_for_documented_exceptions(template: dict[str, Any], either: dict[str, Any]) -> None:
    documented = template["Metadata"]["WildcardResourceExceptions"]
    assert documented == WILDCARD_EXCEPTIONS
    assert all(reason.strip() for reason in documented.values())
    for name, s in policy_statements(either):
        for resource in as_list(s["Resource"]):
            text = resource_text(resource)
            if text == "*":
                undocumented = [a for a in as_list(s["Action"]) if a not in documented]
                assert undocumented == [], f"{name}/{s.get('Sid')}: Resource * for {undocumented}"
                continue
            # Named ARNs only: whatever follows the last ':' must start with a literal name.
            tail = text.rsplit(":", 1)[-1]
            assert not tail.startswith("*"), f"{name}/{s.get('Sid')}: unnamed resource {text}"


def test_one_role_per_function_and_job(either: dict[str, Any]) -> None:
    resources = either
    functions = of_type(resources, "AWS::Serverless::Function")
    roles = [f["Properties"]["Role"]["Fn::GetAtt"][0] for f in functions.values()]
    roles.append(resources["TelemetryJob"]["Properties"]["Role"]["Fn::GetAtt"][0])
    roles.append(
        resources["RawDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]["RoleARN"]["Fn::GetAtt"][0]
    )
    assert len(roles) == len(set(roles)), roles
    for f in functions.values():  # SAM would add its own role and AWS managed policies
        assert "Policies" not in f["Properties"]


def test_publisher_may_publish_exactly_the_standings_topics(resources: dict[str, Any]) -> None:
    statements = [s for _, s in policy_statements({"r": resources["PublisherRole"]}) if "iot:Publish" in s["Action"]]
    (arn,) = [resource_text(r) for s in statements for r in s["Resource"]]
    pattern = arn.split(":topic/", 1)[1]
    assert all(fnmatch.fnmatchcase(live_topic(5402746, class_id), pattern) for class_id in range(1, 7))
    assert not fnmatch.fnmatchcase("alleycat/admin", pattern)


# --- encryption -----------------------------------------------------------------------------


def test_encryption_at_rest(either: dict[str, Any]) -> None:
    resources = either
    if "TelemetryStream" in resources:  # MSK Serverless encrypts at rest with its own key, always
        stream = resources["TelemetryStream"]["Properties"]
        assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    table = resources["Table"]["Properties"]
    assert table["SSESpecification"]["SSEEnabled"] is True and table["SSESpecification"]["SSEType"] == "KMS"
    destination = resources["RawDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert destination["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"]
    for name, q in of_type(resources, "AWS::SQS::Queue").items():
        assert q["Properties"].get("KmsMasterKeyId"), name
    for name, t in of_type(resources, "AWS::SNS::Topic").items():
        assert t["Properties"].get("KmsMasterKeyId"), name
    for name, g in of_type(resources, "AWS::Logs::LogGroup").items():
        assert g["Properties"].get("KmsKeyId"), name
    athena = resources["AthenaWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert athena["EnforceWorkGroupConfiguration"] is True
    assert athena["ResultConfiguration"]["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert resources["DataKey"]["Properties"]["EnableKeyRotation"] is True


def test_buckets_are_encrypted_private_and_tls_only(resources: dict[str, Any]) -> None:
    buckets = of_type(resources, "AWS::S3::Bucket")
    assert set(buckets) == {"LakeBucket", "ArtifactsBucket", "AthenaResultsBucket", "AccessLogsBucket", "PageBucket"}
    policies = {p["Properties"]["Bucket"]["Ref"]: p for p in of_type(resources, "AWS::S3::BucketPolicy").values()}
    for name, b in buckets.items():
        props = b["Properties"]
        (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("aws:kms", "AES256"), name
        assert (
            all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
        )
        deny = policies[name]["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in deny
        ), name
    lake_rules = {r["Id"]: r for r in buckets["LakeBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]}
    raw_key = LakeLayout("s3://b").raw.removeprefix("s3://b/")
    assert lake_rules["raw-telemetry"]["Prefix"] == f"{raw_key}/"
    assert "ExpirationInDays" in lake_rules["raw-telemetry"]


# --- agreement with alleycat.resources ---------------------------------------------------------


def test_functions_and_mappings_agree_with_resources(template: dict[str, Any], resources: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["Runtime"] == "python3.12"
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]
    functions = of_type(resources, "AWS::Serverless::Function")
    mappings = stream_mappings(resources)
    assert set(mappings) == {f"{m.name}Function" for m in MAPPINGS}
    for m in MAPPINGS:
        props = functions[f"{m.name}Function"]["Properties"]
        assert (props["Handler"], props["Timeout"], props["MemorySize"]) == (m.handler, m.timeout_s, m.memory_mb)
        e = mappings[f"{m.name}Function"]
        assert e["Type"] == {"kinesis": "Kinesis", "dynamodb": "DynamoDB"}[m.source]
        expected_stream = (
            {"Fn::GetAtt": ["TelemetryStream", "Arn"]}
            if m.source == "kinesis"
            else {"Fn::GetAtt": ["Table", "StreamArn"]}
        )
        assert e["Stream"] == expected_stream
        assert e["StartingPosition"] == m.starting_position
        assert e["BatchSize"] == m.batch_size
        assert e["MaximumBatchingWindowInSeconds"] == m.max_batching_window_s
        assert e["MaximumRetryAttempts"] == m.maximum_retry_attempts
        assert e["MaximumRecordAgeInSeconds"] == m.maximum_record_age_s
        assert e["BisectBatchOnFunctionError"] == m.bisect_on_error
        assert e["ParallelizationFactor"] == m.parallelization_factor
        assert e.get("TumblingWindowInSeconds") == m.tumbling_window_s
        assert ("ReportBatchItemFailures" in e.get("FunctionResponseTypes", [])) == m.report_batch_item_failures


def test_every_mapping_has_a_failure_destination_and_bounded_retries(either: dict[str, Any]) -> None:
    resources = either
    queues = of_type(resources, "AWS::SQS::Queue")
    functions = of_type(resources, "AWS::Serverless::Function")
    mappings = list(stream_mappings(resources).items())
    mappings += [  # the MSK one (Transport=MSK)
        (m["Properties"]["FunctionName"]["Ref"], m["Properties"])
        for m in of_type(resources, "AWS::Lambda::EventSourceMapping").values()
        if "Topics" in m["Properties"]
    ]
    assert len(mappings) == len(MAPPINGS)
    for name, e in mappings:
        destination = e["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"]
        assert destination[0] in queues and destination[1] == "Arn", name
        assert 0 <= e["MaximumRetryAttempts"] <= 10_000, f"{name}: retries must be bounded (-1 is forever)"
        assert 60 <= e["MaximumRecordAgeInSeconds"] <= 604_800, f"{name}: record age must be bounded"
        role = resources[functions[name]["Properties"]["Role"]["Fn::GetAtt"][0]]
        sends = [
            s
            for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            if "sqs:SendMessage" in s["Action"]
        ]
        assert sends and sends[0]["Resource"] == [{"Fn::GetAtt": destination}], name


def test_table_agrees_with_table_definition(resources: dict[str, Any]) -> None:
    expected = table_definition("x")
    props = resources["Table"]["Properties"]
    for key in ("BillingMode", "AttributeDefinitions", "KeySchema"):
        assert props[key] == expected[key], key
    # The template adds only the read ceiling to each index (test_table_and_indexes_have_a_read_ceiling).
    indexes = [{k: v for k, v in g.items() if k != "OnDemandThroughput"} for g in props["GlobalSecondaryIndexes"]]
    assert indexes == expected["GlobalSecondaryIndexes"]
    assert props["StreamSpecification"]["StreamViewType"] == expected["StreamSpecification"]["StreamViewType"]
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_raw_table_agrees_with_lake_schema(resources: dict[str, Any]) -> None:
    assert resources["GlueDatabase"]["Properties"]["DatabaseInput"]["Name"] == GLUE_DATABASE
    table = resources["RawTable"]["Properties"]["TableInput"]
    assert table["Name"] == RAW_TABLE
    assert table["StorageDescriptor"]["Columns"] == glue_columns()
    assert [(p["Name"], p["Type"]) for p in table["PartitionKeys"]] == list(RAW_PARTITIONS)
    assert table["StorageDescriptor"]["Location"] == {"Fn::Sub": LakeLayout("s3://${LakeBucket}").raw + "/"}
    assert table["Parameters"]["projection.enabled"] == "true"
    for name, _ in RAW_PARTITIONS:
        assert f"projection.{name}.type" in table["Parameters"]


def test_firehose_writes_the_raw_layout(resources: dict[str, Any]) -> None:
    props = resources["RawDeliveryStream"]["Properties"]
    assert props["DeliveryStreamType"] == "KinesisStreamAsSource"
    d = props["ExtendedS3DestinationConfiguration"]
    raw = LakeLayout("s3://b").raw.removeprefix("s3://b/")
    failed = LakeLayout("s3://b").processing_failed.removeprefix("s3://b/")
    keys = "/".join(f"{n}=!{{partitionKeyFromLambda:{n}}}" for n, _ in RAW_PARTITIONS)
    assert (
        d["Prefix"]
        == f"{raw}/{keys}/"
        == "raw/telemetry/dt=!{partitionKeyFromLambda:dt}/hour=!{partitionKeyFromLambda:hour}/"
    )
    assert d["ErrorOutputPrefix"].startswith(f"{failed}/!{{firehose:error-output-type}}/")
    assert d["DynamicPartitioningConfiguration"]["Enabled"] is True
    assert d["BufferingHints"]["IntervalInSeconds"] == FIREHOSE_BUFFER_SECONDS
    size = resources and d["BufferingHints"]["SizeInMBs"]
    assert size == {"Ref": "FirehoseBufferMB"}
    conversion = d["DataFormatConversionConfiguration"]
    assert conversion["Enabled"] is True and "ParquetSerDe" in conversion["OutputFormatConfiguration"]["Serializer"]
    assert conversion["SchemaConfiguration"]["TableName"] == {"Ref": "RawTable"}
    (processor,) = d["ProcessingConfiguration"]["Processors"]
    params = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert params["LambdaArn"] == {"Fn::GetAtt": ["FirehoseTransformFunction", "Arn"]}


def test_firehose_buffer_respects_the_aws_minimum(template: dict[str, Any]) -> None:
    p = template["Parameters"]["FirehoseBufferMB"]
    assert p["MinValue"] >= 64 and p["Default"] >= p["MinValue"]


def test_glue_job(resources: dict[str, Any]) -> None:
    job = resources["TelemetryJob"]["Properties"]
    assert job["GlueVersion"] == "5.1"
    assert job["Command"]["Name"] == "gluestreaming"
    assert job["Command"]["ScriptLocation"] == {
        "Fn::Sub": f"s3://${{ArtifactsBucket}}/glue/${{ArtifactVersion}}/{GLUE_SCRIPT}"
    }
    assert job["DefaultArguments"]["--datalake-formats"] == "hudi"
    assert job["WorkerType"] == {"Ref": "GlueWorkerType"} and job["NumberOfWorkers"] == {"Ref": "GlueWorkers"}
    assert job["DefaultArguments"]["--lake_uri"] == {"Fn::Sub": "s3://${LakeBucket}"}
    assert job["DefaultArguments"]["--glue_database"] == GLUE_DATABASE


def test_glue_job_arguments_are_the_ones_the_job_reads(resources: dict[str, Any]) -> None:
    """Arguments that are not Glue's own must be keys of glue_jobs.telemetry_job.ARGUMENTS (read
    from the source: importing the job needs Spark)."""
    tree = ast.parse((REPO / "glue_jobs" / GLUE_SCRIPT).read_text())
    (arguments,) = [
        n.value for n in tree.body if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "ARGUMENTS"
    ]
    known = set(ast.literal_eval(arguments))
    ours = {k.removeprefix("--") for k in resources["TelemetryJob"]["Properties"]["DefaultArguments"]}
    glue_own = {
        "datalake-formats",
        "enable-glue-datacatalog",
        "enable-metrics",
        "enable-continuous-cloudwatch-log",
        "continuous-log-logGroup",
        "job-bookmark-option",
        "extra-py-files",
        "conf",
    }
    assert ours - glue_own <= known
    assert "lake_uri" in ours


def test_api_is_authorised_throttled_per_caller_and_read_only(resources: dict[str, Any]) -> None:
    api = resources["LeaderboardApi"]["Properties"]
    assert resources["LeaderboardApi"]["Type"] == "AWS::Serverless::Api"
    default = api["Auth"]["DefaultAuthorizer"]
    authorizer = api["Auth"]["Authorizers"][default]
    assert authorizer["UserPoolArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert authorizer["AuthorizationScopes"], "a required scope: access tokens only"
    (throttle,) = api["MethodSettings"]
    assert throttle["ThrottlingRateLimit"] and throttle["ThrottlingBurstLimit"]
    # Per caller: a web ACL with rate-based rules by token and by IP, on this API's stage.
    association = resources["ApiWebAclAssociation"]["Properties"]
    assert association["WebACLArn"] == {"Fn::GetAtt": ["ApiWebAcl", "Arn"]}
    assert "${LeaderboardApi}/stages/${LeaderboardApi.Stage}" in association["ResourceArn"]["Fn::Sub"]
    rules = [r["Statement"].get("RateBasedStatement") for r in resources["ApiWebAcl"]["Properties"]["Rules"]]
    keys = {r["AggregateKeyType"] for r in rules if r}
    assert keys == {"IP", "FORWARDED_IP", "CUSTOM_KEYS"}
    routes = 0
    for name, f in of_type(resources, "AWS::Serverless::Function").items():
        for e in f["Properties"].get("Events", {}).values():
            if e["Type"] in ("Api", "HttpApi"):
                routes += 1
                assert "Auth" not in e["Properties"], f"{name}: a route must not opt out of the authorizer"
                assert e["Properties"]["Method"] == "GET", f"{name}: the API is read-only"
    assert routes
    # API bursts cannot take the stream consumers' concurrency.
    assert resources["ApiFunction"]["Properties"]["ReservedConcurrentExecutions"]
    log = resources["ApiAccessLogGroup"]["Properties"]
    assert log["RetentionInDays"] == 90
    fields = json.loads(api["AccessLogSetting"]["Format"])
    assert {"sub", "method", "path"} <= set(fields)
    assert "claims.sub" in fields["sub"]


def test_cognito_is_hardened(resources: dict[str, Any]) -> None:
    pool = resources["UserPool"]
    assert pool["DeletionPolicy"] == "Retain" and pool["Properties"]["DeletionProtection"] == "ACTIVE"
    assert pool["Properties"]["MfaConfiguration"] == "OPTIONAL"
    assert pool["Properties"]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    client = resources["UserPoolClient"]["Properties"]
    assert "ALLOW_USER_SRP_AUTH" in client["ExplicitAuthFlows"]
    assert not any("PASSWORD_AUTH" in f for f in client["ExplicitAuthFlows"]), "the password stays on the client"
    assert client["PreventUserExistenceErrors"] == "ENABLED"


def test_live_subscribers_may_connect_as_themselves_and_only_receive(resources: dict[str, Any]) -> None:
    attachment = resources["LiveIdentityPoolRoles"]["Properties"]
    assert set(attachment["Roles"]) == {"unauthenticated"}
    role = attachment["Roles"]["unauthenticated"]["Fn::GetAtt"][0]
    trust = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (assume,) = trust
    assert assume["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"] == {"Ref": "LiveIdentityPool"}
    grants = {
        a: [resource_text(r) for r in s["Resource"]]
        for _, s in policy_statements({role: resources[role]})
        for a in as_list(s["Action"])
    }
    assert set(grants) == {"iot:Connect", "iot:Subscribe", "iot:Receive"}, "never publish"
    (client,) = grants["iot:Connect"]
    assert client.endswith(":client/${!cognito-identity.amazonaws.com:sub}"), "its own client id only"
    for action, kind in (("iot:Subscribe", "topicfilter"), ("iot:Receive", "topic")):
        (arn,) = grants[action]
        pattern = arn.split(f":{kind}/", 1)[1]
        assert fnmatch.fnmatchcase(live_topic(5402746, 3), pattern)
        assert not fnmatch.fnmatchcase("alleycat/admin", pattern)


def test_glue_job_cannot_change_the_raw_tables_schema(resources: dict[str, Any]) -> None:
    denied = [s for _, s in policy_statements({"GlueJobRole": resources["GlueJobRole"]}) if s["Effect"] == "Deny"]
    (deny,) = denied
    assert "glue:UpdateTable" in deny["Action"]
    assert [resource_text(r) for r in deny["Resource"]] == [
        f"arn:${{AWS::Partition}}:glue:${{AWS::Region}}:${{AWS::AccountId}}:table/{GLUE_DATABASE}/{RAW_TABLE}"
    ]
    assert resources["TelemetryJob"]["Properties"]["SecurityConfiguration"] == {"Ref": "GlueSecurityConfiguration"}


def test_table_and_indexes_have_a_read_ceiling(resources: dict[str, Any]) -> None:
    table = resources["Table"]["Properties"]
    ceiling = {"MaxReadRequestUnits": {"Ref": "TableMaxReadRequestUnits"}}
    assert table["OnDemandThroughput"] == ceiling
    assert table["GlobalSecondaryIndexes"]
    assert all(g["OnDemandThroughput"] == ceiling for g in table["GlobalSecondaryIndexes"])


def test_buckets_log_access(resources: dict[str, Any]) -> None:
    for name in ("LakeBucket", "ArtifactsBucket", "AthenaResultsBucket", "PageBucket"):
        logging = resources[name]["Properties"]["LoggingConfiguration"]
        assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}, name


# --- the race page ---------------------------------------------------------------------------


def directives(policy: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


def test_page_bucket_is_private_and_only_its_distribution_reads_it(resources: dict[str, Any]) -> None:
    props = resources["PageBucket"]["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values()) and len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    (policy,) = [
        p
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": "PageBucket"}
    ]
    allows = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    (allow,) = allows
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    (source,) = allow["Condition"]["StringEquals"].values()
    assert list(allow["Condition"]["StringEquals"]) == ["AWS:SourceArn"]
    assert source["Fn::Sub"].endswith(":cloudfront::${AWS::AccountId}:distribution/${PageDistribution}")
    # The distribution reads the bucket through the origin access control, which signs every request.
    config = resources["PageDistribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    page = origins[config["DefaultCacheBehavior"]["TargetOriginId"]]
    assert page["DomainName"] == {"Fn::GetAtt": ["PageBucket", "RegionalDomainName"]}
    assert page["OriginAccessControlId"] == {"Fn::GetAtt": ["PageOriginAccessControl", "Id"]}
    assert page["S3OriginConfig"] == {"OriginAccessIdentity": ""}, "no legacy origin access identity"
    oac = resources["PageOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (oac["SigningBehavior"], oac["SigningProtocol"], oac["OriginAccessControlOriginType"]) == (
        "always",
        "sigv4",
        "s3",
    )


def test_page_is_https_only_and_the_api_is_same_origin_and_uncached(resources: dict[str, Any]) -> None:
    config = resources["PageDistribution"]["Properties"]["DistributionConfig"]
    assert config["DefaultRootObject"] == "index.html"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    (api,) = config["CacheBehaviors"]
    assert api["PathPattern"] == "/v1/*" and api["ViewerProtocolPolicy"] == "https-only"
    origin = {o["Id"]: o for o in config["Origins"]}[api["TargetOriginId"]]
    assert origin["DomainName"]["Fn::Sub"].startswith("${LeaderboardApi}.execute-api.")
    assert origin["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", (
        "CachingDisabled: answers depend on the token"
    )
    for behaviour in (config["DefaultCacheBehavior"], api):
        assert behaviour["ResponseHeadersPolicyId"] == {"Ref": "PageHeaders"}
    # WAF counts viewers behind CloudFront by the address CloudFront forwards, not the edge's.
    rules = {r["Name"]: r["Statement"] for r in resources["ApiWebAcl"]["Properties"]["Rules"]}
    viewer = rules["PerViewerIp"]["RateBasedStatement"]
    assert viewer["AggregateKeyType"] == "FORWARDED_IP"
    assert viewer["ForwardedIPConfig"]["HeaderName"] == "X-Forwarded-For"


def test_page_headers_allow_only_the_listed_origins(resources: dict[str, Any]) -> None:
    headers = resources["PageHeaders"]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    text, variables = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]["Fn::Sub"]
    assert headers["ContentSecurityPolicy"]["Override"] is True
    aws, local = directives(text), directives(POLICY)
    assert aws["connect-src"] == [
        "'self'",
        "https://${AuthDomainPrefix}.auth.${AWS::Region}.amazoncognito.com",
        "https://cognito-identity.${AWS::Region}.amazonaws.com",
        "wss://${IotHost}",
    ]
    assert {k: v for k, v in aws.items() if k != "connect-src"} == {
        k: v for k, v in local.items() if k != "connect-src"
    }
    assert local["connect-src"] == ["'self'"]
    assert variables["IotHost"] == {"Fn::Select": [1, {"Fn::Split": ["https://", {"Ref": "IotDataEndpoint"}]}]}
    assert set(variables) == {"AuthDomainPrefix", "IotHost"}
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    assert headers["ContentTypeOptions"]["Override"] is True


def test_page_signs_in_with_a_public_pkce_client(resources: dict[str, Any]) -> None:
    client = resources["PageUserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False
    assert client["AllowedOAuthFlows"] == ["code"] and client["AllowedOAuthFlowsUserPoolClient"] is True
    assert client["AllowedOAuthScopes"] == ["openid", "aws.cognito.signin.user.admin"]
    page_url = {"Fn::Sub": "https://${PageDistribution.DomainName}/"}
    assert client["CallbackURLs"] == [page_url] and client["LogoutURLs"] == [page_url]
    assert client["ExplicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["PreventUserExistenceErrors"] == "ENABLED" and client["EnableTokenRevocation"] is True
    assert client["TokenValidityUnits"]["AccessToken"] == "minutes" and client["AccessTokenValidity"] <= 60
    assert resources["UserPoolDomain"]["Properties"]["UserPoolId"] == {"Ref": "UserPool"}


def test_every_checkov_suppression_has_a_reason(template: dict[str, Any]) -> None:
    suppressed = skips(template)
    assert suppressed
    for name, entries in suppressed.items():
        for check, reason in entries:
            assert re.fullmatch(r"CKV2?_AWS_\d+", check), f"{name}: {check}"
            assert len(reason.split()) >= 5, f"{name}/{check}: say why"


def test_checkov_fails_without_a_suppression(tmp_path: Path) -> None:
    """checkov (make lint) passes because of the written suppressions, not because it checks nothing:
    without the Api function's, its VPC check fails."""
    data = yaml.safe_load(TEMPLATE.read_text())
    del data["Resources"]["ApiFunction"]["Metadata"]
    changed = tmp_path / "template.yaml"
    changed.write_text(yaml.safe_dump(data))
    result = scan.checkov(changed)
    assert any(f.startswith("CKV_AWS_117 AWS::Serverless::Function.ApiFunction") for f in result.failed)
    assert result.passed > 100


# --- observability ---------------------------------------------------------------------------


def alarms_on(resources: dict[str, Any], metric: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == metric
    ]


def dimension(alarm: dict[str, Any], name: str) -> Any:
    return next(d["Value"] for d in alarm["Dimensions"] if d["Name"] == name)


def test_alarms(resources: dict[str, Any]) -> None:
    functions = set(of_type(resources, "AWS::Serverless::Function"))
    for metric in ("Errors", "Throttles"):
        assert {dimension(a, "FunctionName")["Ref"] for a in alarms_on(resources, metric)} == functions
    half_retention_ms = STREAM_RETENTION_HOURS * 3600 * 1000 / 2
    ages = {dimension(a, "FunctionName")["Ref"]: a["Threshold"] for a in alarms_on(resources, "IteratorAge")}
    assert set(ages) == {f"{m.name}Function" for m in MAPPINGS}
    for m in MAPPINGS:
        threshold = ages[f"{m.name}Function"]
        assert threshold < half_retention_ms
        assert threshold < m.maximum_record_age_s * 1000, "older records are discarded: the alarm could never fire"
    (stream_age,) = alarms_on(resources, "GetRecords.IteratorAgeMilliseconds")
    assert stream_age["Threshold"] < half_retention_ms
    queues = {
        dimension(a, "QueueName")["Fn::GetAtt"][0] for a in alarms_on(resources, "ApproximateNumberOfMessagesVisible")
    }
    assert queues == set(of_type(resources, "AWS::SQS::Queue"))
    assert alarms_on(resources, "WriteThrottleEvents") and alarms_on(resources, "ReadThrottleEvents")
    assert alarms_on(resources, "DeliveryToS3.Success")
    assert alarms_on(resources, "glue.driver.aggregate.numFailedTasks")
    for a in of_type(resources, "AWS::CloudWatch::Alarm").values():
        assert a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    assert of_type(resources, "AWS::CloudWatch::Dashboard")


def test_every_log_group_has_retention_and_every_function_its_own(either: dict[str, Any]) -> None:
    resources = either
    groups = of_type(resources, "AWS::Logs::LogGroup")
    for name, g in groups.items():
        assert g["Properties"]["RetentionInDays"], name
    for name, f in of_type(resources, "AWS::Serverless::Function").items():
        assert f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups, name
        group_name = groups[f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]["LogGroupName"][
            "Fn::Sub"
        ]
        assert group_name == "/aws/lambda/" + f["Properties"]["FunctionName"]["Fn::Sub"]


def test_powertools_is_configured_for_every_function(template: dict[str, Any], resources: dict[str, Any]) -> None:
    """Logger, Metrics and Tracer read their service, namespace and level from the environment."""
    shared = template["Globals"]["Function"]["Environment"]["Variables"]
    assert shared["POWERTOOLS_METRICS_NAMESPACE"] == "Alleycat"
    assert shared["POWERTOOLS_LOG_LEVEL"]
    functions = of_type(resources, "AWS::Serverless::Function")
    services = {
        name: f["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] for name, f in functions.items()
    }
    assert len(set(services.values())) == len(functions), services
    for name, service in services.items():
        assert functions[name]["Properties"]["FunctionName"]["Fn::Sub"] == f"${{AWS::StackName}}-{service}"


def test_handlers_name_real_modules() -> None:
    """Every handler the template names is a module file in the repository (consumers/...)."""
    for spec in function_specs():
        module, _, func = spec.handler.rpartition(".")
        path = REPO / Path(*module.split("."))
        source = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
        assert source.exists(), spec.handler
        assert re.search(rf"^(def {func}\(|{func} = )", source.read_text(), re.M), spec.handler


# --- Transport=MSK -----------------------------------------------------------------------------


def kafka_grants(resources: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """Per role or policy: each kafka-cluster action -> the resources it is granted on (as text)."""
    out: dict[str, dict[str, set[str]]] = {}
    for name, s in policy_statements(resources):
        for action in as_list(s["Action"]):
            if action.startswith("kafka-cluster:"):
                texts = {resource_text(r) or json.dumps(r) for r in s["Resource"]}
                out.setdefault(name, {}).setdefault(action, set()).update(texts)
    return out


CLUSTER_REF = json.dumps({"Ref": "KafkaCluster"})
TOPIC_ARN = "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:topic/${ClusterName}/${ClusterUuid}/" + TOPIC
GROUP_ARN = "arn:${AWS::Partition}:kafka:${AWS::Region}:${AWS::AccountId}:group/${ClusterName}/${ClusterUuid}/"


def test_the_transport_parameter_picks_kinesis_or_msk(generated: dict[str, Any], resources, msk) -> None:
    assert generated["Parameters"]["Transport"]["AllowedValues"] == ["Kinesis", "MSK"]
    assert generated["Parameters"]["Transport"]["Default"] == "Kinesis"
    kafka_types = {"AWS::MSK::ServerlessCluster", "AWS::MSK::ClusterPolicy", "AWS::EC2::VPC", "AWS::EC2::Subnet"}
    assert not {r["Type"] for r in resources.values()} & kafka_types
    assert not of_type(msk, "AWS::Kinesis::Stream")
    assert kafka_types <= {r["Type"] for r in msk.values()}
    kinesis_outputs = resolved(generated, "Kinesis")["Outputs"]
    msk_outputs = resolved(generated, "MSK")["Outputs"]
    assert "StreamName" in kinesis_outputs and "KafkaClusterArn" not in kinesis_outputs
    assert "StreamName" not in msk_outputs and {"KafkaClusterArn", "KafkaTopic", "KafkaClientSecurityGroup"} <= set(
        msk_outputs
    )
    assert "TelemetryStream" not in json.dumps(msk)  # nothing left that names the stream


def test_msk_serverless_takes_iam_only_in_three_private_subnets(msk: dict[str, Any]) -> None:
    (cluster,) = of_type(msk, "AWS::MSK::ServerlessCluster").values()
    props = cluster["Properties"]
    assert props["ClientAuthentication"] == {"Sasl": {"Iam": {"Enabled": True}}}
    (vpc,) = props["VpcConfigs"]
    subnets = of_type(msk, "AWS::EC2::Subnet")
    assert {s["Ref"] for s in vpc["SubnetIds"]} == set(subnets) and len(subnets) == 3
    assert {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets.values()} == {
        json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(3)
    }
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    assert not of_type(msk, "AWS::EC2::InternetGateway") and not of_type(msk, "AWS::EC2::NatGateway")
    assert of_type(msk, "AWS::EC2::FlowLog")
    (policy,) = of_type(msk, "AWS::MSK::ClusterPolicy").values()
    (grant,) = policy["Properties"]["Policy"]["Statement"]
    assert (
        grant["Principal"] == {"Service": "firehose.amazonaws.com"} and "kafka:CreateVpcConnection" in grant["Action"]
    )
    assert grant["Resource"] == {"Ref": "KafkaCluster"} and "aws:SourceAccount" in grant["Condition"]["StringEquals"]


def test_security_groups_open_only_the_iam_listener_between_groups(msk: dict[str, Any]) -> None:
    rules = []
    for g in of_type(msk, "AWS::EC2::SecurityGroup").values():
        rules += [("in", r) for r in g["Properties"].get("SecurityGroupIngress", [])]
        rules += [("out", r) for r in g["Properties"]["SecurityGroupEgress"]]  # explicit: no default allow-all
    rules += [("in", r["Properties"]) for r in of_type(msk, "AWS::EC2::SecurityGroupIngress").values()]
    rules += [("out", r["Properties"]) for r in of_type(msk, "AWS::EC2::SecurityGroupEgress").values()]
    assert len(rules) >= 4
    for direction, r in rules:
        if r.get("CidrIp") == "127.0.0.1/32":  # the placeholder that removes the default egress
            continue
        assert (r["IpProtocol"], r["FromPort"], r["ToPort"]) == ("tcp", IAM_PORT, IAM_PORT), r
        peer = r.get("SourceSecurityGroupId" if direction == "in" else "DestinationSecurityGroupId")
        assert peer is not None and "CidrIp" not in r and "CidrIpv6" not in r, r


def test_the_aggregator_reads_the_topic_with_the_local_mappings_parameters(msk: dict[str, Any]) -> None:
    (mapping,) = of_type(msk, "AWS::Lambda::EventSourceMapping").values()
    e = mapping["Properties"]
    m = KAFKA_AGGREGATOR
    assert e["FunctionName"] == {"Ref": "AggregatorFunction"} and e["EventSourceArn"] == {"Ref": "KafkaCluster"}
    assert e["Topics"] == [TOPIC]
    assert e["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": m.consumer_group_id}
    assert (e["StartingPosition"], e["BatchSize"]) == (m.starting_position, m.batch_size)
    assert "MaximumBatchingWindowInSeconds" not in e and m.max_batching_window_ms == 500  # AWS's default for Kafka
    assert (e["MaximumRetryAttempts"], e["MaximumRecordAgeInSeconds"]) == (
        m.maximum_retry_attempts,
        m.maximum_record_age_s,
    )
    assert e["BisectBatchOnFunctionError"] is m.bisect_on_error
    assert e["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # Kafka's retries, bisection and partial answers need provisioned pollers (which need no VPC endpoints)
    assert e["ProvisionedPollerConfig"]["MinimumPollers"] >= 1
    assert e["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["AggregatorDeadLetterQueue", "Arn"]}


def test_firehose_reads_the_topic_into_the_same_raw_zone(resources: dict[str, Any], msk: dict[str, Any]) -> None:
    props = msk["RawDeliveryStream"]["Properties"]
    assert props["DeliveryStreamType"] == "MSKAsSource" and "KinesisStreamSourceConfiguration" not in props
    source = props["MSKSourceConfiguration"]
    assert source["MSKClusterARN"] == {"Ref": "KafkaCluster"} and source["TopicName"] == TOPIC
    assert source["AuthenticationConfiguration"] == {
        "Connectivity": "PRIVATE",
        "RoleARN": {"Fn::GetAtt": ["FirehoseRole", "Arn"]},
    }
    assert source["ReadFromTimestamp"] == "1970-01-01T00:00:00Z"  # from the earliest offset
    same = resources["RawDeliveryStream"]["Properties"]["ExtendedS3DestinationConfiguration"]
    assert props["ExtendedS3DestinationConfiguration"] == same  # same transform, prefix, conversion


def test_kafka_grants_are_scoped_to_the_cluster_topic_and_group(msk: dict[str, Any], resources: dict[str, Any]) -> None:
    assert kafka_grants(resources) == {}
    grants = kafka_grants(msk)
    assert set(grants) == {"AggregatorRole", "FirehoseRole", "ProducerPolicy"}
    assert grants["AggregatorRole"] == {
        "kafka-cluster:Connect": {CLUSTER_REF},
        "kafka-cluster:DescribeClusterDynamicConfiguration": {CLUSTER_REF},
        "kafka-cluster:DescribeTopic": {TOPIC_ARN},
        "kafka-cluster:ReadData": {TOPIC_ARN},
        "kafka-cluster:DescribeGroup": {GROUP_ARN + KAFKA_AGGREGATOR.consumer_group_id},
        "kafka-cluster:AlterGroup": {GROUP_ARN + KAFKA_AGGREGATOR.consumer_group_id},
    }
    assert grants["ProducerPolicy"] == {
        "kafka-cluster:Connect": {CLUSTER_REF},
        "kafka-cluster:WriteDataIdempotently": {CLUSTER_REF},
        "kafka-cluster:DescribeTopic": {TOPIC_ARN},
        "kafka-cluster:WriteData": {TOPIC_ARN},
    }
    firehose = grants["FirehoseRole"]
    assert firehose["kafka-cluster:ReadData"] == {TOPIC_ARN} and "kafka-cluster:WriteData" not in firehose
    assert firehose["kafka-cluster:DescribeGroup"] == {GROUP_ARN + "*"}  # Firehose's own groups: not named by AWS
    for name, actions in grants.items():  # nobody creates, deletes or alters topics or the cluster
        assert not [a for a in actions if re.match(r"kafka-cluster:(Create|Delete|Alter(?!Group))", a)], name
    # the poller's interfaces: made only in the cluster's subnets, with the cluster's group
    (create,) = [
        s for n, s in policy_statements(msk) if n == "AggregatorRole" and "ec2:CreateNetworkInterface" in s["Action"]
    ]
    texts = [resource_text(r) for r in create["Resource"]]
    assert sum(":subnet/" in t for t in texts) == 3 and sum(":security-group/" in t for t in texts) == 1


def test_the_aggregator_alarms_on_the_lag_of_its_transport(resources: dict[str, Any], msk: dict[str, Any]) -> None:
    assert alarms_on(resources, "IteratorAge") and not alarms_on(resources, "OffsetLag")
    (lag,) = alarms_on(msk, "OffsetLag")
    assert dimension(lag, "FunctionName") == {"Ref": "AggregatorFunction"}
    ages = {dimension(a, "FunctionName")["Ref"] for a in alarms_on(msk, "IteratorAge")}
    assert ages == {f"{m.name}Function" for m in MAPPINGS} - {"AggregatorFunction"}
    assert not alarms_on(msk, "GetRecords.IteratorAgeMilliseconds")
