"""Apache Kafka for the local stack's Kafka transport: one KRaft process, broker and controller.

``make setup`` copies ``org.apache.kafka:kafka_2.13`` and its runtime jars from Maven Central into
``build/jars/kafka`` (``infra/local/pom-kafka.xml``). ``kafka_spec`` is the broker's process: its
client listener and its controller listener both on 127.0.0.1, its log under ``<home>/kafka/data``
(formatted once, with a cluster id kept there), no topic made by a client's request. Amazon MSK is
the AWS side; the differences that matter here: plaintext and no authentication on loopback (MSK
Serverless takes IAM authentication over TLS), and one replica (MSK keeps three).

``create_topic`` makes the telemetry topic idempotently, one partition per shard of the Kinesis
variant; ``group_lag`` is each consumer group's committed offset and lag per partition, what
``alleycat status`` prints (the figure MSK publishes as ``SumOffsetLag``).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from alleycat.errors import StackError
from alleycat.settings import Settings
from infra.local.processes import ProcessSpec, port_open

log = logging.getLogger("alleycat.stack")

REPO = Path(__file__).resolve().parents[2]
KAFKA_JARS = REPO / "build" / "jars" / "kafka"
NODE_ID = 1
HEAP = "512m"
TOPIC_RETENTION_MS = 24 * 3600 * 1000  # as the Kinesis stream's 24 hours
_TIMEOUT_MS = 5000
LOOKUP_S = 15.0  # an end-offsets lookup, before it is given up on and asked again
T = TypeVar("T")


def installed() -> bool:
    return any(KAFKA_JARS.glob("kafka_2.13-*.jar"))


def data_dir(settings: Settings) -> Path:
    return settings.home / "kafka" / "data"


def config_path(settings: Settings) -> Path:
    return settings.home / "kafka" / "server.properties"


def server_properties(settings: Settings) -> str:
    """The broker's configuration: everything on 127.0.0.1, single-replica internal topics."""
    controller = f"127.0.0.1:{settings.kafka_controller_port}"
    props = {
        "process.roles": "broker,controller",
        "node.id": str(NODE_ID),
        "controller.quorum.voters": f"{NODE_ID}@{controller}",
        "listeners": f"PLAINTEXT://127.0.0.1:{settings.kafka_port},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{settings.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data_dir(settings)),
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "4",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # topics are made by `alleycat up` (create_topic), never by a client's metadata request
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{k}={v}\n" for k, v in props.items())


def _java() -> list[str]:
    return ["java", f"-Xmx{HEAP}", "-XX:+UseSerialGC", "-cp", f"{KAFKA_JARS}/*"]


def prepare(settings: Settings) -> None:
    """Write the configuration and format the log directory once (KRaft needs a formatted
    directory with the cluster's id before the first start)."""
    if not installed():
        raise StackError("Apache Kafka is not installed: run `make setup` (Maven copies it to build/jars/kafka)")
    config = config_path(settings)
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(server_properties(settings))
    if (data_dir(settings) / "meta.properties").exists():
        return
    format_log_dir(config, base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))


def format_log_dir(config: Path, cluster_id: str) -> None:
    """KRaft's ``kafka-storage format`` of the log directory that ``config`` names."""
    # bandit B603: our own java and jars, no shell
    done = subprocess.run(  # nosec B603
        # `--cluster-id=`: an id may start with "-" (urlsafe base64, 1 in 64), which as an argument
        # of its own is read as an option and refused
        [*_java(), "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise StackError(f"formatting Kafka's log directory failed: {done.stdout[-500:]} {done.stderr[-500:]}")


def admin(settings: Settings) -> Any:
    from kafka import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=_TIMEOUT_MS, client_id="alleycat-stack"
    )


def broker_answers(settings: Settings) -> bool:
    """The broker answers a metadata request (the port alone opens before it serves)."""
    if not port_open(settings.kafka_port):
        return False
    try:
        client = admin(settings)
    except Exception:  # kafka.errors.KafkaTimeoutError and the like: not up yet
        return False
    try:
        client.list_topics()
        return True
    except Exception:
        return False
    finally:
        client.close()


def kafka_spec(settings: Settings) -> ProcessSpec:
    return ProcessSpec(
        name="kafka",
        argv=[
            *_java(),
            # the broker's own logs: warnings, plus the line saying it started
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-Dorg.slf4j.simpleLogger.log.kafka.server.KafkaRaftServer=info",
            "-Dorg.slf4j.simpleLogger.showDateTime=true",
            "kafka.Kafka",
            str(config_path(settings)),
        ],
        port=settings.kafka_port,
        healthy=lambda: broker_answers(settings),
        start_timeout_s=90.0,
    )


def create_topic(settings: Settings) -> None:
    """The telemetry topic with one partition per shard; an existing one is kept as it is."""
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    client = admin(settings)
    try:
        if settings.kafka_topic in client.list_topics():
            return
        topic = NewTopic(
            settings.kafka_topic,
            num_partitions=settings.shards,
            replication_factor=1,
            topic_configs={"retention.ms": str(TOPIC_RETENTION_MS)},
        )
        with contextlib.suppress(TopicAlreadyExistsError):  # made meanwhile by another `alleycat up`
            client.create_topics([topic], timeout_ms=_TIMEOUT_MS)
        log.info("topic created", extra={"topic": settings.kafka_topic, "partitions": settings.shards})
    finally:
        client.close()


def _end_offsets(settings: Settings, partitions: list[Any], attempts: int = 5) -> dict[Any, int]:
    """The partitions' end offsets. kafka-python leaves out a partition whose lookup met a
    retriable error (a leader moving, metadata not yet known) and then raises KeyError: ask again.
    Its lookup can also wait forever after the broker restarts (kafka-python 3.0's network loop
    waits with no deadline for a lookup that never completes): each is made by a consumer of its
    own in a thread given up on after ``LOOKUP_S``, then asked again."""
    for _ in range(attempts - 1):
        try:
            return _with_deadline(lambda: _lookup_end_offsets(settings, partitions), LOOKUP_S)
        except (KeyError, TimeoutError):
            time.sleep(0.2)
    return _with_deadline(lambda: _lookup_end_offsets(settings, partitions), LOOKUP_S)


def _lookup_end_offsets(settings: Settings, partitions: list[Any]) -> dict[Any, int]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, request_timeout_ms=_TIMEOUT_MS + 1000
    )
    try:
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close()


def _with_deadline(work: Callable[[], T], seconds: float) -> T:
    """``work()``, or TimeoutError after ``seconds`` (the thread left behind is a daemon)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=run, name="kafka-lookup", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"the broker did not answer an offsets lookup within {seconds:.0f} s")
    if "error" in box:
        raise box["error"]
    value: T = box["value"]
    return value


def group_lag(settings: Settings) -> list[dict[str, Any]]:
    """Each consumer group's committed offset, the log end and the lag, per partition."""
    client = admin(settings)
    try:
        out = []
        for group in sorted(g["group_id"] for g in client.list_groups()):
            offsets = client.list_group_offsets({group: None}).get(group, {})
            ends = _end_offsets(settings, list(offsets)) if offsets else {}
            for tp, committed in sorted(offsets.items()):
                end = ends.get(tp, committed.offset)
                out.append(
                    {
                        "group": group,
                        "partition": f"{tp.topic}-{tp.partition}",
                        "committed": committed.offset,
                        "end": end,
                        "lag": max(0, end - committed.offset),
                    }
                )
        return out
    finally:
        client.close()
