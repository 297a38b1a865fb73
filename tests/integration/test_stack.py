"""`alleycat up/status/env/down` against the real servers (the session's private stack)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import boto3
import httpx

from alleycat.settings import Settings
from infra.local import stack as local_stack
from infra.local.processes import ProcessTable


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "alleycat.cli", *args], capture_output=True, text=True, timeout=120)


def test_up_is_idempotent_and_status_reports_health_and_shards(stack: Settings) -> None:
    assert _cli("up", "--servers-only").returncode == 0
    status = local_stack.status(stack)
    servers, workers = status["components"][:3], status["components"][3:]
    assert [c["name"] for c in servers] == ["kinesis", "dynamodb", "trino"]
    assert all(c["healthy"] and c["pid"] for c in servers)
    assert {c["name"] for c in workers} == {"api", "consumer", "firehose", "lake"}
    assert not any(c["pid"] for c in workers)  # the test session starts the servers only
    assert len([s for s in status["shards"] if s["open"]]) == stack.shards
    result = _cli("status")
    assert result.returncode == 0, result.stderr
    assert "healthy" in result.stdout and "shardId-000000000003" in result.stdout
    assert "trino" in result.stdout


def test_trino_listens_on_loopback_only(stack: Settings) -> None:
    """Its HTTP server binds 127.0.0.1 (node.bind-ip): no other address of this machine reaches it."""
    listening = Path("/proc/net/tcp").read_text().splitlines()[1:] + Path("/proc/net/tcp6").read_text().splitlines()[1:]
    port = f"{stack.trino_port:04X}"
    local = [line.split()[1] for line in listening if line.split()[3] == "0A" and line.split()[1].endswith(f":{port}")]
    assert local, "nothing listens on the Trino port"
    loopback = ("0100007F:", "0000000000000000FFFF00000100007F:", "00000000000000000000000001000000:")
    assert all(address.startswith(loopback) for address in local), local


def test_every_listener_is_loopback_and_no_server_answers_a_cross_origin_request(stack: Settings) -> None:
    """With every server and worker up (the lake's Spark driver included), each listening socket of
    each of their process trees is on 127.0.0.1 (read from /proc, as `alleycat status` shows it);
    and Kinesis, DynamoDB Local and the API give a cross-origin browser request no
    Access-Control-Allow-Origin, so no web page open in the browser can read them."""
    local_stack.up_all(stack, lake=True)
    try:
        components = local_stack.status(stack)["components"]
        assert all(c["pid"] and c["healthy"] for c in components), components
        listening = {c["name"]: c["listening"] for c in components}
        for c in components:
            if c["port"] is not None:
                assert f"127.0.0.1:{c['port']}" in c["listening"], c
        assert listening["lake"], "the Spark driver's RPC and block manager listen too"
        everything = [address for addresses in listening.values() for address in addresses]
        assert everything and all(a.startswith("127.0.0.1:") for a in everything), listening
        assert "on 127.0.0.1:" in _cli("status").stdout

        page = {"Origin": "http://evil.example"}
        preflight = {**page, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
        for url in (stack.kinesis_url, stack.dynamodb_url, stack.api_url):
            for answer in (
                httpx.options(url, headers=preflight, timeout=5),
                httpx.post(url, headers={**page, "Content-Type": "application/x-amz-json-1.1"}, content=b"{}"),
                httpx.get(f"{stack.api_url}/health", headers=page, timeout=5),
            ):
                assert "access-control-allow-origin" not in answer.headers, (url, answer.headers)
    finally:
        processes = ProcessTable(stack.home)
        for name in ("lake", "firehose", "consumer", "api"):
            processes.stop(name)


def test_env_prints_standard_endpoint_settings_that_boto3_follows(stack: Settings) -> None:
    result = _cli("env")
    assert result.returncode == 0
    exported = dict(shlex.split(line.removeprefix("export "))[0].split("=", 1) for line in result.stdout.splitlines())
    assert exported["AWS_ENDPOINT_URL_KINESIS"] == stack.kinesis_url
    assert exported["AWS_ENDPOINT_URL_DYNAMODB"] == stack.dynamodb_url
    env = {**exported}
    session = boto3.session.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    # boto3 resolves the endpoint from the environment variable alone.
    client = session.client("dynamodb")
    assert client.meta.endpoint_url == stack.dynamodb_url
    assert stack.table in client.list_tables()["TableNames"]


def test_resources_are_created_once(stack: Settings) -> None:
    local_stack.create_resources(stack)  # second time: no error, nothing new
    kinesis = boto3.client("kinesis")
    assert kinesis.describe_stream_summary(StreamName=stack.stream)["StreamDescriptionSummary"]["OpenShardCount"] == 4
    table = boto3.client("dynamodb").describe_table(TableName=stack.table)["Table"]
    assert {g["IndexName"] for g in table["GlobalSecondaryIndexes"]} == {"GSI1", "GSI2"}
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert (stack.s3_root / "alleycat-lake").is_dir()
