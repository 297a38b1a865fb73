"""Settings: read from the environment once per process, at its edge, and passed down.

Only the edges call ``Settings.from_env()``: the CLI (``alleycat.cli``), each Lambda handler
module's entry point, the Glue job's ``main`` and the benchmarks. Everything below them takes a
``Settings`` (or the few fields it needs) as an argument; library code never reads ``os.environ``.

Endpoints are never configured here: boto3 reads the standard ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` variables itself, so the same code talks to AWS when they are unset.
``alleycat env`` prints the variables that point everything at the local stack.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from alleycat.errors import ConfigError

# The names of every ALLEYCAT_* variable, in one place (Powertools keeps its in shared/constants.py).
HOME = "ALLEYCAT_HOME"
STREAM = "ALLEYCAT_STREAM"
TABLE = "ALLEYCAT_TABLE"
LAKE_URI = "ALLEYCAT_LAKE_URI"
S3_ROOT = "ALLEYCAT_S3_ROOT"
SHARDS = "ALLEYCAT_SHARDS"
KINESIS_PORT = "ALLEYCAT_KINESIS_PORT"
DYNAMODB_PORT = "ALLEYCAT_DYNAMODB_PORT"
API_PORT = "ALLEYCAT_API_PORT"
TRINO_PORT = "ALLEYCAT_TRINO_PORT"
TRINO_HEAP = "ALLEYCAT_TRINO_HEAP"
API_URL = "ALLEYCAT_API_URL"
LIVE_URL = "ALLEYCAT_LIVE_URL"
LIVE_TOP = "ALLEYCAT_LIVE_TOP"
DEAD_LETTER_BUCKET = "ALLEYCAT_DEAD_LETTER_BUCKET"
DEAD_LETTER_PREFIX = "ALLEYCAT_DEAD_LETTER_PREFIX"
CURSOR_KEY = "ALLEYCAT_CURSOR_KEY"
# bandit B105: a variable name, not a secret
LIVE_TOKEN = "ALLEYCAT_LIVE_TOKEN"  # nosec B105
LIVE_SUBSCRIBERS_MAX = "ALLEYCAT_LIVE_SUBSCRIBERS_MAX"
# bandit B105: a variable name, not a secret
CURSOR_KEY_SECRET_ARN = "ALLEYCAT_CURSOR_KEY_SECRET_ARN"  # nosec B105
ATHENA_WORKGROUP = "ALLEYCAT_ATHENA_WORKGROUP"
ATHENA_OUTPUT = "ALLEYCAT_ATHENA_OUTPUT"
LAKE_TRIGGER_SECONDS = "ALLEYCAT_LAKE_TRIGGER_SECONDS"
FIREHOSE_BUFFER_SECONDS = "ALLEYCAT_FIREHOSE_BUFFER_SECONDS"
LOG_LEVEL = "ALLEYCAT_LOG_LEVEL"
KINESIS_LIMITS = "ALLEYCAT_KINESIS_LIMITS"
TRANSPORT = "ALLEYCAT_TRANSPORT"
KAFKA_BOOTSTRAP = "ALLEYCAT_KAFKA_BOOTSTRAP"
KAFKA_TOPIC = "ALLEYCAT_KAFKA_TOPIC"
KAFKA_PORT = "ALLEYCAT_KAFKA_PORT"
KAFKA_CONTROLLER_PORT = "ALLEYCAT_KAFKA_CONTROLLER_PORT"
KAFKA_AUTH = "ALLEYCAT_KAFKA_AUTH"

Transport = Literal["kinesis", "kafka"]
TRANSPORTS: tuple[Transport, ...] = ("kinesis", "kafka")
KafkaAuth = Literal["none", "iam"]
KAFKA_AUTHS: tuple[KafkaAuth, ...] = ("none", "iam")


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name) or default


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or None


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    raise ConfigError(f"{name}={env.get(name)!r} must be on or off")


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{name}={raw!r} must be above 0")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or default).strip().lower()
    if raw not in choices:
        raise ConfigError(f"{name}={raw!r} must be one of {', '.join(choices)}")
    return raw


def _heap(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or default).strip().upper()
    if not re.fullmatch(r"[1-9][0-9]*[MG]", raw):
        raise ConfigError(f"{name}={raw!r} is not a JVM heap size such as 1G or 768M")
    return raw


@dataclass(frozen=True)
class Settings:
    """Everything a process of Alleycat is configured with. Defaults run the local stack."""

    home: Path = Path(".alleycat")
    region: str = "us-east-1"
    stream: str = "alleycat-telemetry"
    table: str = "alleycat"
    lake_uri: str = "s3://alleycat-lake"
    shards: int = 4
    kinesis_port: int = 4567
    dynamodb_port: int = 8000
    api_port: int = 8080
    # Trino, the local Athena engine (infra.local.trino): its port on 127.0.0.1 and its JVM heap
    trino_port: int = 8090
    trino_heap: str = "1G"
    # s3://bucket/prefix is the directory <local_s3_root>/bucket/prefix when set (the local stack)
    local_s3_root: Path | None = None
    # where the Publisher posts live updates; unset: IoT Core
    live_url: str | None = None
    live_top: int = 1000
    # the bearer token the publisher sends to /internal/live and the API requires (the local stack
    # generates one per stack); unset: the API refuses every push
    live_token: str | None = None
    # open SSE streams one API process serves; beyond it a new one gets 503 with Retry-After
    live_subscribers_max: int = 500
    # dead letters go to s3://bucket/prefix when set, else under <home>/dead-letter
    dead_letter_bucket: str | None = None
    dead_letter_prefix: str = "dead-letter"
    cursor_key: str | None = None
    cursor_key_secret_arn: str | None = None
    athena_workgroup: str = "primary"
    athena_output: str | None = None
    lake_trigger_seconds: int = 60
    firehose_buffer_seconds: float = 60.0
    log_level: str = "WARNING"
    # the local Kinesis enforces AWS's per-shard quotas (off: kinesalite's own ceiling, for benchmarks)
    kinesis_limits: bool = True
    # what carries telemetry from the simulator to the Aggregator: a Kinesis stream, or a Kafka topic
    # (a local Apache Kafka broker, infra.local.kafka; Amazon MSK on AWS)
    transport: Transport = "kinesis"
    # the Kafka brokers (host:port,...); unset: the local broker on 127.0.0.1:kafka_port
    kafka_bootstrap_servers: str | None = None
    kafka_topic: str = "alleycat-telemetry"
    # the local broker's client port and its KRaft controller's port, both on 127.0.0.1
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    # how Kafka clients sign in: none (plaintext, the local broker) or iam (Amazon MSK's IAM access
    # control: TLS, SASL/OAUTHBEARER signed with the default AWS credentials, in ``region``)
    kafka_auth: KafkaAuth = "none"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default: this process's environment). Raises ``ConfigError``
        naming the variable when a value is malformed."""
        env = os.environ if environ is None else environ
        root = _optional(env, S3_ROOT)
        return cls(
            home=Path(_text(env, HOME, ".alleycat")).resolve(),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            stream=_text(env, STREAM, cls.stream),
            table=_text(env, TABLE, cls.table),
            lake_uri=_text(env, LAKE_URI, cls.lake_uri).rstrip("/"),
            shards=_int(env, SHARDS, cls.shards, minimum=1),
            kinesis_port=_int(env, KINESIS_PORT, cls.kinesis_port, minimum=1),
            dynamodb_port=_int(env, DYNAMODB_PORT, cls.dynamodb_port, minimum=1),
            api_port=_int(env, API_PORT, cls.api_port, minimum=1),
            trino_port=_int(env, TRINO_PORT, cls.trino_port, minimum=1),
            trino_heap=_heap(env, TRINO_HEAP, cls.trino_heap),
            local_s3_root=Path(root) if root else None,
            live_url=_optional(env, LIVE_URL),
            live_top=_int(env, LIVE_TOP, cls.live_top, minimum=1),
            live_token=_optional(env, LIVE_TOKEN),
            live_subscribers_max=_int(env, LIVE_SUBSCRIBERS_MAX, cls.live_subscribers_max, minimum=1),
            dead_letter_bucket=_optional(env, DEAD_LETTER_BUCKET),
            dead_letter_prefix=_text(env, DEAD_LETTER_PREFIX, cls.dead_letter_prefix),
            cursor_key=_optional(env, CURSOR_KEY),
            cursor_key_secret_arn=_optional(env, CURSOR_KEY_SECRET_ARN),
            athena_workgroup=_text(env, ATHENA_WORKGROUP, cls.athena_workgroup),
            athena_output=_optional(env, ATHENA_OUTPUT),
            lake_trigger_seconds=_int(env, LAKE_TRIGGER_SECONDS, cls.lake_trigger_seconds, minimum=1),
            firehose_buffer_seconds=_float(env, FIREHOSE_BUFFER_SECONDS, cls.firehose_buffer_seconds),
            log_level=_text(env, LOG_LEVEL, cls.log_level).upper(),
            kinesis_limits=_switch(env, KINESIS_LIMITS, cls.kinesis_limits),
            transport=cast(Transport, _choice(env, TRANSPORT, cls.transport, TRANSPORTS)),
            kafka_bootstrap_servers=_optional(env, KAFKA_BOOTSTRAP),
            kafka_topic=_text(env, KAFKA_TOPIC, cls.kafka_topic),
            kafka_port=_int(env, KAFKA_PORT, cls.kafka_port, minimum=1),
            kafka_controller_port=_int(env, KAFKA_CONTROLLER_PORT, cls.kafka_controller_port, minimum=1),
            kafka_auth=cast(KafkaAuth, _choice(env, KAFKA_AUTH, cls.kafka_auth, KAFKA_AUTHS)),
        )

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def local_stack_env(self) -> dict[str, str]:
        """The ALLEYCAT_* variables of a local stack process with these settings (its children
        build the same ``Settings`` from them). The AWS endpoint variables are the stack's own."""
        env = {
            HOME: str(self.home),
            STREAM: self.stream,
            TABLE: self.table,
            LAKE_URI: self.lake_uri,
            S3_ROOT: str(self.local_s3_root or self.s3_root),
            SHARDS: str(self.shards),
            KINESIS_PORT: str(self.kinesis_port),
            DYNAMODB_PORT: str(self.dynamodb_port),
            API_PORT: str(self.api_port),
            TRINO_PORT: str(self.trino_port),
            TRINO_HEAP: self.trino_heap,
            API_URL: self.api_url,
            LIVE_URL: self.live_url or f"{self.api_url}/internal/live",
            LIVE_TOP: str(self.live_top),
            LIVE_SUBSCRIBERS_MAX: str(self.live_subscribers_max),
            LAKE_TRIGGER_SECONDS: str(self.lake_trigger_seconds),
            FIREHOSE_BUFFER_SECONDS: str(self.firehose_buffer_seconds),
            LOG_LEVEL: self.log_level,
            KINESIS_LIMITS: "on" if self.kinesis_limits else "off",
            TRANSPORT: self.transport,
            KAFKA_TOPIC: self.kafka_topic,
            KAFKA_PORT: str(self.kafka_port),
            KAFKA_CONTROLLER_PORT: str(self.kafka_controller_port),
        }
        if self.cursor_key:
            env[CURSOR_KEY] = self.cursor_key
        if self.live_token:
            env[LIVE_TOKEN] = self.live_token
        if self.kafka_bootstrap_servers:  # else the children derive it from the broker's port, as here
            env[KAFKA_BOOTSTRAP] = self.kafka_bootstrap_servers
        return env

    @property
    def s3_root(self) -> Path:
        """Where the local stack keeps the lake: s3://bucket/prefix -> <home>/s3/bucket/prefix."""
        return self.home / "s3"

    @property
    def dead_letter_dir(self) -> Path:
        return self.home / "dead-letter"

    @property
    def kinesis_url(self) -> str:
        return f"http://127.0.0.1:{self.kinesis_port}"

    @property
    def kafka_bootstrap(self) -> str:
        """The brokers Kafka clients bootstrap from: the configured ones, else the local broker."""
        return self.kafka_bootstrap_servers or f"127.0.0.1:{self.kafka_port}"

    @property
    def dynamodb_url(self) -> str:
        return f"http://127.0.0.1:{self.dynamodb_port}"

    @property
    def trino_url(self) -> str:
        return f"http://127.0.0.1:{self.trino_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"
