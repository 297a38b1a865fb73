"""The local stack: real servers on 127.0.0.1 standing in for the managed services.

* Kinesis Data Streams -> kinesalite (npm), persisted with LevelDB under ``<home>/kinesis``.
* DynamoDB (+ Streams) -> DynamoDB Local (AWS's own, Maven Central), persisted under ``<home>/dynamodb``.
* S3 -> the directory ``<home>/s3``: ``s3://bucket/prefix`` is ``<home>/s3/bucket/prefix``.

``up`` starts what is not running, waits until healthy and creates the resources idempotently;
``down`` stops only what ``up`` started; ``env_vars`` are the standard AWS settings that point every
boto3 client at these servers.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from alleycat.resources import TTL_ATTRIBUTE, table_definition
from alleycat.settings import Settings
from infra.local.processes import ProcessSpec, ProcessTable, StackError, free_port, port_open

log = logging.getLogger("alleycat.stack")

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "infra" / "local"
JAR_DIR = REPO / "build" / "jars"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "alleycatlocal", "AWS_SECRET_ACCESS_KEY": "alleycatlocal"}
_FAST = Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5)


def env_vars(settings: Settings) -> dict[str, str]:
    """The environment that points all project code (and the AWS CLI) at the local stack."""
    return {
        "AWS_ENDPOINT_URL_KINESIS": settings.kinesis_url,
        "AWS_ENDPOINT_URL_DYNAMODB": settings.dynamodb_url,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": settings.dynamodb_url,
        "AWS_REGION": settings.region,
        "AWS_DEFAULT_REGION": settings.region,  # botocore reads this one; Lambda sets both
        **DUMMY_CREDENTIALS,
        "ALLEYCAT_HOME": str(settings.home),
        "ALLEYCAT_STREAM": settings.stream,
        "ALLEYCAT_TABLE": settings.table,
        "ALLEYCAT_LAKE_URI": settings.lake_uri,
        "ALLEYCAT_S3_ROOT": str(settings.s3_root),
        "ALLEYCAT_API_URL": settings.api_url,
        "ALLEYCAT_LIVE_URL": f"{settings.api_url}/internal/live",  # where the Publisher posts live updates
    }


def private_settings(home: Path, **overrides: str) -> Settings:
    """Settings of a private stack (tests, benchmarks): its own home and free ports, so it never
    meets the developer's stack. Exports them to this process's environment, where the stack's
    workers and subprocesses inherit them. ``overrides``: other ALLEYCAT_* variables."""
    os.environ.update(
        {
            "ALLEYCAT_HOME": str(home),
            "ALLEYCAT_KINESIS_PORT": str(free_port()),
            "ALLEYCAT_DYNAMODB_PORT": str(free_port()),
            "ALLEYCAT_API_PORT": str(free_port()),
            **overrides,
        }
    )
    return Settings.from_env()


def apply_env(settings: Settings) -> None:
    """Point this process's boto3 clients at the local stack."""
    os.environ.update(env_vars(settings))


def _client(service: str, url: str, settings: Settings) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
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


@dataclass(frozen=True)
class Server:
    """A server of the stack and how to tell it is healthy."""

    spec: ProcessSpec
    service: str


def servers(settings: Settings) -> list[Server]:
    kinesis = _client("kinesis", settings.kinesis_url, settings)
    dynamodb = _client("dynamodb", settings.dynamodb_url, settings)
    java_lib = JAR_DIR / "dynamodb"
    return [
        Server(
            ProcessSpec(
                name="kinesis",
                argv=[
                    _need("node", "Node.js 18+ (apt-get install nodejs)"),
                    str(NODE_DIR / "kinesalite.js"),
                    "--port",
                    str(settings.kinesis_port),
                    "--path",
                    str(settings.home / "kinesis"),
                ],
                port=settings.kinesis_port,
                healthy=lambda: _answers(lambda: kinesis.list_streams(Limit=1)),
                cwd=NODE_DIR,
            ),
            "kinesis",
        ),
        Server(
            ProcessSpec(
                name="dynamodb",
                argv=[
                    _need("java", "Java 17 (apt-get install openjdk-17-jre-headless)"),
                    "-Xmx1g",
                    f"-Djava.library.path={java_lib}",
                    "-cp",
                    f"{java_lib}/*",
                    "software.amazon.dynamodb.services.local.main.ServerRunner",
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
            "dynamodb",
        ),
    ]


def _need(program: str, what: str) -> str:
    path = shutil.which(program)
    if path is None:
        raise StackError(f"{program} not found on PATH: install {what}, or run `make setup`")
    return path


def _check_installed() -> None:
    if not (NODE_DIR / "node_modules" / "kinesalite").is_dir():
        raise StackError("kinesalite is not installed: run `make setup` (npm ci in infra/local)")
    if not (JAR_DIR / "dynamodb" / "DynamoDBLocal.jar").is_file():
        raise StackError("DynamoDB Local is not installed: run `make setup` (Maven copies it to build/jars)")


def workers(settings: Settings, lake: bool = True) -> list[ProcessSpec]:
    """The pipeline's own processes, started after the servers: the leaderboard API, the event
    source mappings (Lambda handlers) and, unless ``lake`` is False, the Firehose + Glue job."""
    from consumers.api.cli import api_spec
    from infra.local.esm import consumer_spec
    from infra.local.lake_cli import process_spec as lake_spec

    specs = [api_spec(settings), consumer_spec(settings)]
    return [*specs, lake_spec(settings)] if lake else specs


def up_all(settings: Settings, lake: bool = True) -> None:
    """``alleycat up``: the servers and resources, then the workers. Idempotent."""
    up(settings)
    table = ProcessTable(settings.home)
    for spec in workers(settings, lake):
        pid = table.start(spec)
        log.info("worker up", extra={"component": spec.name, "pid": pid})


def up(settings: Settings) -> None:
    """Start the servers that are not running, wait until healthy, create resources. Idempotent."""
    _check_installed()
    for sub in ("kinesis", "dynamodb"):
        (settings.home / sub).mkdir(parents=True, exist_ok=True)
    table = ProcessTable(settings.home)
    for server in servers(settings):
        pid = table.start(server.spec)
        log.info("server up", extra={"component": server.spec.name, "pid": pid, "port": server.spec.port})
    create_resources(settings)


def down(settings: Settings) -> list[str]:
    """Stop the processes ``up`` started; data stays. Returns the names stopped."""
    table = ProcessTable(settings.home)
    names = [w.name for w in workers(settings)] + [s.spec.name for s in servers(settings)]
    return [name for name in names if table.stop(name)]


def create_resources(settings: Settings) -> None:
    kinesis = _client("kinesis", settings.kinesis_url, settings)
    try:
        kinesis.describe_stream_summary(StreamName=settings.stream)
    except kinesis.exceptions.ResourceNotFoundException:
        kinesis.create_stream(StreamName=settings.stream, ShardCount=settings.shards)
    wait_stream_active(kinesis, settings.stream)

    dynamodb = _client("dynamodb", settings.dynamodb_url, settings)
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


def wait_stream_active(kinesis: Any, stream: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            return
        time.sleep(0.2)
    raise StackError(f"stream {stream} did not become ACTIVE in {timeout_s:.0f}s")


def status(settings: Settings) -> dict[str, Any]:
    """Each component (pid, port, health) and the stream's shards."""
    table = ProcessTable(settings.home)
    components = []
    for spec in [s.spec for s in servers(settings)] + workers(settings):
        pid = table.pid(spec.name)
        reachable = port_open(spec.port) if spec.port is not None else pid is not None
        components.append(
            {
                "name": spec.name,
                "pid": pid,
                "port": spec.port,
                "healthy": bool(reachable and spec.healthy()),
                "log": str(table.log_path(spec.name)),
            }
        )
    shards: list[dict[str, Any]] = []
    if components[0]["healthy"]:
        kinesis = _client("kinesis", settings.kinesis_url, settings)
        try:
            for shard in kinesis.list_shards(StreamName=settings.stream)["Shards"]:
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
    return {"home": str(settings.home), "components": components, "stream": settings.stream, "shards": shards}
