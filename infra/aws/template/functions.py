"""The Lambda functions: one spec per function (the three mapped consumers from
``alleycat.resources.MAPPINGS``, the Firehose transform, the API), each with its own role, log
group and, when mapped, on-failure queue; the settings every function shares (Globals); and the
dependency layer (built by `make package` from requirements/lambda.lock)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alleycat.resources import KAFKA_AGGREGATOR, MAPPINGS, MappingDef
from infra.aws.template import kafka
from infra.aws.template.api import API_METHOD
from infra.aws.template.checks import skip
from infra.aws.template.conditions import if_kinesis
from infra.aws.template.iam import XRAY_STMT, kms_via, logs_stmt, policy, role, stmt
from infra.aws.template.intrinsics import att, ref, sub
from infra.aws.template.lake.paths import DEAD_LETTER_PREFIX, LAKE, LAKE_URI, lake_objects
from infra.aws.template.live import publish_stmt, publisher_environment
from infra.aws.template.mappings import (
    dead_letter_queue,
    dead_letter_queue_name,
    event_for,
    kinesis_mapping,
    kinesis_read_statements,
    mapping_statements,
)
from infra.aws.template.table import DDB_READ, DDB_WRITE, table_arns

RUNTIME = "python3.12"
ARCHITECTURE = "arm64"
# Lambda code and the dependency layer, built by `make package` (tests/unit/test_package.py).
LAMBDA_CODE_DIR = "../../build/package/lambda/code"
LAMBDA_LAYER_DIR = "../../build/package/lambda/layer"
# Powertools for AWS Lambda (Logger, Metrics, Tracer) reads these; the service is set per function.
POWERTOOLS_METRICS_NAMESPACE = "Alleycat"
LOG_LEVEL = "INFO"


@dataclass
class FunctionSpec:
    name: str  # logical name; the resource is "<name>Function"
    handler: str
    description: str
    statements: list[dict[str, Any]]
    timeout_s: int = 60
    memory_mb: int = 512
    environment: dict[str, Any] = field(default_factory=dict)
    events: dict[str, Any] = field(default_factory=dict)
    mapping: MappingDef | None = None
    # A cap (and a guarantee) on concurrent executions; None: bounded by its caller instead (why, below).
    reserved_concurrency: Any = None
    invoked_by: str = ""  # who invokes it, synchronously (the checkov reasons name it)
    # the telemetry source's grants, by transport (Fn::If of two inline policies), and its mappings
    source_policy: Any = None
    source_mappings: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        """FinalResults -> final-results: the function name's suffix and its Powertools service."""
        return "".join("-" + c.lower() if c.isupper() else c for c in self.name).lstrip("-")


# The functions' environment variables are encrypted with the stack's key (Globals.KmsKeyArn).
ENVIRONMENT_KEY_STMT = kms_via("lambda", ["kms:Decrypt"], "DecryptEnvironment")


def dead_letter_stmt() -> dict[str, Any]:
    return stmt(["s3:PutObject"], [sub(f"${{LakeBucket.Arn}}/{DEAD_LETTER_PREFIX}/*")], "DeadLetters")


def function_specs() -> list[FunctionSpec]:
    dead_letter_env = {
        "ALLEYCAT_DEAD_LETTER_BUCKET": ref("LakeBucket"),
        "ALLEYCAT_DEAD_LETTER_PREFIX": DEAD_LETTER_PREFIX,
    }
    extra: dict[str, tuple[str, list[dict[str, Any]], dict[str, Any]]] = {
        "Aggregator": (
            "Tumbling-window aggregation of telemetry into the LIVE item of each race",
            [stmt(DDB_WRITE, table_arns(), "WriteTable"), dead_letter_stmt()],
            dead_letter_env,
        ),
        "FinalResults": (
            "RESULT, BEST and CLASS items from the table's stream",
            [stmt(DDB_WRITE, table_arns(), "WriteTable"), dead_letter_stmt()],
            dead_letter_env,
        ),
        "Publisher": (
            "Publishes live standings to IoT Core (alleycat/races/<raceId>/<classId>/standings)",
            [stmt(DDB_READ, table_arns(), "ReadTable"), publish_stmt(), dead_letter_stmt()],
            {**publisher_environment(), **dead_letter_env},
        ),
    }
    specs = []
    for m in MAPPINGS:
        description, statements, env = extra[m.name]
        spec = FunctionSpec(
            name=m.name,
            handler=m.handler,
            description=description,
            statements=mapping_statements(m) + statements,
            timeout_s=m.timeout_s,
            memory_mb=m.memory_mb,
            environment=env,
            events={"Stream": event_for(m)},
            mapping=m,
            invoked_by=f"its {m.source} event source mapping (one batch per shard at a time, "
            f"x{m.parallelization_factor} parallelisation)",
        )
        if m.source == "kinesis":  # the telemetry: the stream, or with Transport=MSK the topic
            assert m.name == KAFKA_AGGREGATOR.name, "only the Aggregator reads the telemetry"
            spec.events = {}
            spec.source_policy = if_kinesis(
                policy("read-stream", kinesis_read_statements()), policy("read-topic", kafka.aggregator_statements())
            )
            spec.source_mappings = {f"{m.name}FunctionStream": kinesis_mapping(m), **kafka.event_source_mapping()}
            spec.invoked_by = (
                f"its Kinesis event source mapping (one batch per shard at a time, x{m.parallelization_factor} "
                "parallelisation) or its MSK one (one batch per partition at a time)"
            )
        specs.append(spec)
    specs.append(
        FunctionSpec(
            name="FirehoseTransform",
            handler="consumers.firehose_transform.handler",
            description="Firehose record transform: validation, snake_case rows and dt/hour partition keys",
            statements=[dead_letter_stmt()],
            timeout_s=120,
            environment=dead_letter_env,
            invoked_by="Firehose (its delivery stream's buffer, one batch per shard)",
        )
    )
    specs.append(
        FunctionSpec(
            name="Api",
            handler="consumers.api.handler",
            description="Leaderboard API (FastAPI via Mangum) behind the HTTP API",
            statements=[
                stmt(DDB_READ, table_arns(), "ReadTable"),
                stmt(["s3:GetObject"], lake_objects(LAKE.bests_export), "ReadBestsExport"),
                kms_via("s3", ["kms:Decrypt"], "ReadBestsExportKey"),
                stmt(["secretsmanager:GetSecretValue"], [ref("CursorKeySecret")], "ReadCursorKey"),
                kms_via("secretsmanager", ["kms:Decrypt"], "ReadCursorKeyKey"),  # the secret is under DataKey
            ],
            timeout_s=29,
            environment={"ALLEYCAT_CURSOR_KEY_SECRET_ARN": ref("CursorKeySecret")},
            events={
                "Proxy": {
                    "Type": "Api",
                    "Properties": {"RestApiId": ref("LeaderboardApi"), "Path": "/{proxy+}", "Method": API_METHOD},
                }
            },
            # API bursts cannot take the stream consumers' concurrency, nor exceed this.
            reserved_concurrency=ref("ApiReservedConcurrency"),
            invoked_by="API Gateway",
        )
    )
    return specs


def function_resources(spec: FunctionSpec) -> dict[str, Any]:
    fn, log_group, role_name = f"{spec.name}Function", f"{spec.name}LogGroup", f"{spec.name}Role"
    function_name = f"${{AWS::StackName}}-{spec.slug}"
    props: dict[str, Any] = {
        "FunctionName": sub(function_name),
        "Description": spec.description,
        "Handler": spec.handler,
        "Role": att(role_name),
        "Timeout": spec.timeout_s,
        "MemorySize": spec.memory_mb,
        "LoggingConfig": {"LogGroup": ref(log_group), "LogFormat": "Text"},
        # SAM merges these with the Globals' variables.
        "Environment": {"Variables": {"POWERTOOLS_SERVICE_NAME": spec.slug, **spec.environment}},
    }
    if spec.events:
        props["Events"] = spec.events
    reasons = {
        "CKV_AWS_116": f"Invoked synchronously only, by {spec.invoked_by}: a dead-letter queue applies to "
        "asynchronous invocations"
        + (", and failed batches go to the mapping's on-failure queue" if spec.mapping else ""),
        "CKV_AWS_117": "Reaches only AWS public endpoints, over TLS with IAM (no VPC resources); a VPC would "
        "add NAT or endpoints without narrowing what it can reach",
    }
    if spec.reserved_concurrency is not None:
        props["ReservedConcurrentExecutions"] = spec.reserved_concurrency
    else:
        reasons["CKV_AWS_115"] = (
            f"Concurrency is bounded by {spec.invoked_by}; a reserved cap below that would throttle "
            "the stream and delay every race"
        )
    resources: dict[str, Any] = {
        fn: skip({"Type": "AWS::Serverless::Function", "Properties": props}, **reasons),
        log_group: {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "LogGroupName": sub(f"/aws/lambda/{function_name}"),
                "RetentionInDays": ref("LogRetentionDays"),
                "KmsKeyId": att("DataKey"),
            },
        },
        role_name: role(
            f"{spec.name} function: least privilege",
            "lambda.amazonaws.com",
            [logs_stmt(log_group), XRAY_STMT, ENVIRONMENT_KEY_STMT, *spec.statements],
            [spec.source_policy] if spec.source_policy is not None else None,
        ),
        **spec.source_mappings,
    }
    if spec.mapping is not None:
        resources[dead_letter_queue_name(spec.mapping)] = dead_letter_queue()
    return resources


def function_globals() -> dict[str, Any]:
    """What every function shares: runtime, code, layer, tracing, and the stack's names."""
    return {
        "Runtime": RUNTIME,
        "Architectures": [ARCHITECTURE],
        "CodeUri": LAMBDA_CODE_DIR,
        "Layers": [ref("DependencyLayer")],
        "Tracing": "Active",
        "KmsKeyArn": att("DataKey"),
        "Environment": {
            "Variables": {
                "ALLEYCAT_STREAM": if_kinesis(ref("TelemetryStream"), ref("AWS::NoValue")),
                "ALLEYCAT_TABLE": ref("Table"),
                "ALLEYCAT_LAKE_URI": sub(LAKE_URI),
                "ALLEYCAT_LOG_LEVEL": LOG_LEVEL,
                "POWERTOOLS_METRICS_NAMESPACE": POWERTOOLS_METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": LOG_LEVEL,
            }
        },
    }


def dependency_layer() -> dict[str, Any]:
    return {
        "Type": "AWS::Serverless::LayerVersion",
        "Properties": {
            "Description": "Alleycat's Python dependencies (arm64, Python 3.12)",
            "ContentUri": LAMBDA_LAYER_DIR,
            "CompatibleRuntimes": [RUNTIME],
            "CompatibleArchitectures": [ARCHITECTURE],
            "RetentionPolicy": "Delete",
        },
    }
