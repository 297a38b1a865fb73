"""The local stack: real servers on 127.0.0.1 (only) standing in for the managed services.

* Kinesis Data Streams -> kinesalite (npm), persisted with LevelDB under ``<home>/kinesis``.
* DynamoDB (+ Streams) -> DynamoDB Local (AWS's own, Maven Central), persisted under ``<home>/dynamodb``,
  started by ``LoopbackDynamoDB.java`` (its ServerRunner, bound to 127.0.0.1: it has no host option).
* S3 -> the directory ``<home>/s3``: ``s3://bucket/prefix`` is ``<home>/s3/bucket/prefix``.
* Amazon MSK (with ``--transport kafka``) -> Apache Kafka (Maven Central), one KRaft process
  (``infra.local.kafka``), its log under ``<home>/kafka``.
* Athena -> Trino 476 (``infra.local.trino``) over the local Glue Data Catalog
  (``infra.local.glue_catalog``, a file metastore under ``<home>/trino``).

``up`` starts what is not running, waits until healthy and creates the resources idempotently;
``up_all`` then starts the pipeline's workers (``infra.local.workers``); ``down`` stops only what
``up`` started. ``infra.local.environment`` is the environment that points every boto3 client at
these servers.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from alleycat import settings as variables
from alleycat.adapters import kinesis as kinesis_shards
from alleycat.errors import StackError
from alleycat.resources import TTL_ATTRIBUTE, table_definition
from alleycat.settings import Settings
from infra.local import glue_catalog, kafka, lake_contents, trino
from infra.local.environment import DUMMY_CREDENTIALS, stack_env, stack_lake
from infra.local.esm import metrics as esm_metrics
from infra.local.firehose.delivery import status_path as firehose_status_path
from infra.local.processes import ProcessSpec, ProcessTable, free_port, listening_addresses, port_open
from infra.local.workers import workers

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_kinesis import KinesisClient

log = logging.getLogger("alleycat.stack")

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "infra" / "local"
JAR_DIR = REPO / "build" / "jars"
_FAST = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5)


def private_settings(home: Path, **overrides: str) -> Settings:
    """Settings of a private stack (tests, benchmarks): its own home, lake root and free ports, so it
    never meets the developer's stack. ``overrides``: other ALLEYCAT_* variables.

    Unlike the rest of the stack this writes to ``os.environ``, on purpose: the tests and benchmarks
    it serves run the CLI and the stack's workers as subprocesses, which inherit this environment
    and so build the same settings."""
    os.environ.update(
        {
            variables.HOME: str(home),
            variables.S3_ROOT: str(home / "s3"),
            variables.KINESIS_PORT: str(free_port()),
            variables.DYNAMODB_PORT: str(free_port()),
            variables.API_PORT: str(free_port()),
            variables.TRINO_PORT: str(free_port()),
            variables.KAFKA_PORT: str(free_port()),
            variables.KAFKA_CONTROLLER_PORT: str(free_port()),
            **overrides,
        }
    )
    return Settings.from_env()


def apply_env(settings: Settings) -> None:
    """Point this process's boto3 clients (and the subprocesses it starts) at the local stack."""
    os.environ.update(stack_env(settings))


def _kinesis(settings: Settings) -> KinesisClient:
    return boto3.client(
        "kinesis",
        endpoint_url=settings.kinesis_url,
        region_name=settings.region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=_FAST,
    )


def _dynamodb(settings: Settings) -> DynamoDBClient:
    return boto3.client(
        "dynamodb",
        endpoint_url=settings.dynamodb_url,
        region_name=settings.region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=_FAST,
    )


def _answers(call: Any) -> bool:
    try:
        call()
        return True
    except (BotoCoreError, ClientError, OSError):
        return False


def servers(settings: Settings) -> list[ProcessSpec]:
    """The stack's servers, Kinesis first: each healthy when it answers a list call. The Kafka
    broker with the Kafka transport (Kinesis runs as well; the Aggregator's mapping and the lake's
    Firehose then read the topic)."""
    kinesis = _kinesis(settings)
    dynamodb = _dynamodb(settings)
    java_lib = JAR_DIR / "dynamodb"
    return [
        ProcessSpec(
            name="kinesis",
            argv=[
                _need("node", "Node.js 18+ (apt-get install nodejs)"),
                str(NODE_DIR / "kinesalite.js"),
                "--port",
                str(settings.kinesis_port),
                "--path",
                str(settings.home / "kinesis"),
                "--limits",
                "on" if settings.kinesis_limits else "off",
            ],
            port=settings.kinesis_port,
            healthy=lambda: _answers(lambda: kinesis.list_streams(Limit=1)),
            cwd=NODE_DIR,
        ),
        ProcessSpec(
            name="dynamodb",
            argv=[
                _need("java", "Java 17 (apt-get install openjdk-17-jre-headless)"),
                "-Xmx1g",
                f"-Djava.library.path={java_lib}",
                "-cp",
                f"{java_lib}/*",
                # DynamoDB Local's ServerRunner, bound to 127.0.0.1 (it has no host option)
                str(NODE_DIR / "LoopbackDynamoDB.java"),
                "-port",
                str(settings.dynamodb_port),
                "-dbPath",
                str(settings.home / "dynamodb"),
                "-sharedDb",
                "-disableTelemetry",
            ],
            port=settings.dynamodb_port,
            healthy=lambda: _answers(lambda: dynamodb.list_tables(Limit=1)),
        ),
        *([kafka.kafka_spec(settings)] if settings.transport == "kafka" else []),
        trino.trino_spec(settings),
    ]


def with_running_transport(settings: Settings) -> Settings:
    """``settings`` with the Kafka transport when this stack's broker runs, so that ``alleycat env``,
    ``status`` and ``down`` see the stack ``alleycat up --transport kafka`` started."""
    if settings.transport != "kafka" and ProcessTable(settings.home).pid("kafka") is not None:
        return settings.replace(transport="kafka")
    return settings


def _need(program: str, what: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise StackError(f"{program} not found on PATH: install {what}, or run `make setup`")
    return path


def _check_installed(settings: Settings) -> None:
    if not (NODE_DIR / "node_modules" / "kinesalite").is_dir():
        raise StackError("kinesalite is not installed: run `make setup` (npm ci in infra/local)")
    if not (JAR_DIR / "dynamodb" / "DynamoDBLocal.jar").is_file():
        raise StackError("DynamoDB Local is not installed: run `make setup` (Maven copies it to build/jars)")
    if not trino.installed():
        raise StackError("Trino is not installed: run `make setup` (Maven unpacks it into build/trino)")
    if settings.transport == "kafka" and not kafka.installed():
        raise StackError("Apache Kafka is not installed: run `make setup` (Maven copies it to build/jars/kafka)")


def up_all(settings: Settings, lake: bool = True) -> None:
    """``alleycat up``: the servers and resources, then the workers (without the lake when ``lake``
    is False). Idempotent."""
    up(settings)
    table = ProcessTable(settings.home)
    for spec in workers(settings, lake):
        pid = table.start(spec)
        log.info("worker up", extra={"component": spec.name, "pid": pid})


def up(settings: Settings) -> None:
    """Start the servers that are not running, wait until healthy, create resources. Idempotent."""
    _check_installed(settings)
    for sub in ("kinesis", "dynamodb"):
        (settings.home / sub).mkdir(parents=True, exist_ok=True)
    trino.write_config(settings)
    if settings.transport == "kafka":
        kafka.prepare(settings)
    table = ProcessTable(settings.home)
    for spec in servers(settings):
        pid = table.start(spec)
        log.info("server up", extra={"component": spec.name, "pid": pid, "port": spec.port})
    create_resources(settings)


def down(settings: Settings) -> list[str]:
    """Stop the processes ``up`` started; data stays. Returns the names stopped."""
    table = ProcessTable(settings.home)
    settings = with_running_transport(settings)
    names = [w.name for w in workers(settings)] + [s.name for s in servers(settings)]
    return [name for name in names if table.stop(name)]


def create_resources(settings: Settings) -> None:
    kinesis = _kinesis(settings)
    try:
        kinesis.describe_stream_summary(StreamName=settings.stream)
    except kinesis.exceptions.ResourceNotFoundException:
        kinesis.create_stream(StreamName=settings.stream, ShardCount=settings.shards)
    wait_stream_active(kinesis, settings.stream)
    if settings.transport == "kafka":
        kafka.create_topic(settings)

    dynamodb = _dynamodb(settings)
    try:
        dynamodb.describe_table(TableName=settings.table)
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(**table_definition(settings.table))
        dynamodb.update_time_to_live(
            TableName=settings.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    bucket = settings.lake_uri.removeprefix("s3://").split("/", 1)[0]
    (settings.s3_root / bucket).mkdir(parents=True, exist_ok=True)
    settings.dead_letter_dir.mkdir(parents=True, exist_ok=True)
    glue_catalog.sync(stack_lake(settings), trino.metastore_dir(settings))


def wait_stream_active(kinesis: KinesisClient, stream: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            return
        time.sleep(0.2)
    raise StackError(f"stream {stream} did not become ACTIVE in {timeout_s:.0f}s")


def status(settings: Settings) -> dict[str, Any]:
    """Each component (pid, port, health), servers first, and the stream's shards."""
    settings = with_running_transport(settings)
    table = ProcessTable(settings.home)
    components = []
    for spec in servers(settings) + workers(settings):
        pid = table.pid(spec.name)
        reachable = port_open(spec.port) if spec.port is not None else pid is not None
        components.append(
            {
                "name": spec.name,
                "pid": pid,
                "port": spec.port,
                "healthy": bool(reachable and spec.healthy()),
                "listening": listening_addresses(pid) if pid is not None else [],
                "log": str(table.log_path(spec.name)),
            }
        )
    shards: list[dict[str, Any]] = []
    if components[0]["healthy"]:
        try:
            for shard in kinesis_shards.iter_shards(_kinesis(settings), settings.stream):
                shards.append(
                    {
                        "shardId": shard["ShardId"],
                        "open": "EndingSequenceNumber" not in shard["SequenceNumberRange"],
                        "parent": shard.get("ParentShardId"),
                        "hashKeyRange": [
                            shard["HashKeyRange"]["StartingHashKey"],
                            shard["HashKeyRange"]["EndingHashKey"],
                        ],
                    }
                )
        except ClientError as exc:
            shards.append({"error": str(exc)})
    return {
        "home": str(settings.home),
        "components": components,
        "stream": settings.stream,
        "shards": shards,
        "transport": settings.transport,
        "lag": lag(settings),
    }


def lag(settings: Settings) -> dict[str, Any]:
    """How far behind each consumer is, from what the consumers report themselves (as Lambda's
    IteratorAge and Firehose's DataFreshness are the services' own figures): each mapping's shards
    (``infra.local.esm.metrics``), the local Firehose's status file, and the lake's freshness."""
    now = time.time()
    mappings = esm_metrics.read_all(settings.home)
    for m in mappings:
        m["reportAgeS"] = round(now - m.get("updatedAt", now), 1)
    firehose: dict[str, Any] | None = None
    path = firehose_status_path(settings.home)
    try:
        firehose = json.loads(path.read_text())
        firehose["report_age_s"] = round(now - firehose.get("updated_at", now), 1)
    except (OSError, ValueError):
        firehose = None
    lake: dict[str, Any] | None = None
    try:
        report = lake_contents.status(settings)
        telemetry = report["tables"].get("telemetry", {})
        lake = {
            "lastCommit": telemetry.get("lastCommit"),
            "lastCommitAgeS": telemetry.get("lastCommitAgeS"),
            **report.get("freshness", {}),
        }
    except Exception as exc:  # the lake is being written or not there yet: say so, do not fail status
        lake = {"error": f"{type(exc).__name__}: {exc}"}
    groups: list[dict[str, Any]] | dict[str, str] | None = None
    if settings.transport == "kafka":
        try:
            groups = kafka.group_lag(settings)
        except Exception as exc:  # the broker is down or starting: say so, do not fail status
            groups = {"error": f"{type(exc).__name__}: {exc}"}
    return {"mappings": mappings, "firehose": firehose, "lake": lake, "kafkaGroups": groups}
