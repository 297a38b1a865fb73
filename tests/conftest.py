"""Shared fixtures. ``stack`` starts a private local stack (free ports, temporary home) once per
test session, points this process's boto3 at it, and stops it at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from alleycat.adapters import aws
from alleycat.lake.location import Lake
from alleycat.settings import Settings
from alleycat.sql_engine import local as sql_local
from alleycat.sql_engine.output import Result
from infra.local import glue_catalog, trino
from infra.local import stack as local_stack
from infra.local.environment import stack_env

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

REPO = Path(__file__).resolve().parents[1]


def stack_settings(home: Path) -> Settings:
    return local_stack.private_settings(
        home, ALLEYCAT_STREAM="test-telemetry", ALLEYCAT_TABLE="test-alleycat", ALLEYCAT_SHARDS="4"
    )


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    saved = dict(os.environ)
    settings = stack_settings(tmp_path_factory.mktemp("alleycat-home"))
    local_stack.up(settings)
    local_stack.apply_env(settings)
    aws.forget_clients()
    try:
        yield settings
    finally:
        local_stack.down(settings)
        os.environ.clear()
        os.environ.update(saved)
        aws.forget_clients()


@pytest.fixture
def own_stream(stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    """The session's servers with a stream, a lake and a home (checkpoints, pid files, the lake's
    directory) of this test's own, so other tests' records and checkpoints never mix in. Exported to
    the environment, where the simulator, the workers and the lake code find them."""
    tag = uuid.uuid4().hex[:8]
    home = tmp_path / "home"
    settings = replace(
        stack, home=home, local_s3_root=home / "s3", stream=f"own-{tag}", lake_uri=f"s3://lake-{tag}", shards=2
    )
    kinesis = aws.client("kinesis", settings.region)
    kinesis.create_stream(StreamName=settings.stream, ShardCount=settings.shards)
    local_stack.wait_stream_active(kinesis, settings.stream)
    env = stack_env(settings)
    saved = {k: os.environ[k] for k in env if k in os.environ}
    os.environ.update(env)
    try:
        yield settings
    finally:
        os.environ.update(saved)
        kinesis.delete_stream(StreamName=settings.stream)


class Athena:
    """The session stack's Trino as ``alleycat sql`` uses it, over any test's lake: ``query`` first
    registers that lake's tables and partitions in the stack's catalog (the Glue job's Hive sync,
    locally), then runs the statement unchanged."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.where = sql_local.TrinoSettings.of_stack(settings)

    def register(self, lake: Lake) -> None:
        glue_catalog.sync(lake, trino.metastore_dir(self.settings))

    def query(self, lake: Lake, sql: str) -> Result:
        self.register(lake)
        return sql_local.run(sql, replace(self.where, lake_uri=lake.uri))


@pytest.fixture(scope="session")
def athena(stack: Settings) -> Athena:
    return Athena(stack)


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    """One local[2] SparkSession with the Hudi bundle for the whole test session (Spark is
    imported only when a test asks for it)."""
    from glue_jobs.session import local_spark_session

    session = local_spark_session("alleycat-tests")
    yield session
    session.stop()
