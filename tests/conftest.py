"""Shared fixtures. ``stack`` starts a private local stack (free ports, temporary home) once per
test session, points this process's boto3 at it, and stops it at the end."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from alleycat import aws
from alleycat.settings import Settings
from infra.local import stack as local_stack

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
    aws.client.cache_clear()
    aws.resource.cache_clear()
    try:
        yield settings
    finally:
        local_stack.down(settings)
        os.environ.clear()
        os.environ.update(saved)
        aws.client.cache_clear()
        aws.resource.cache_clear()


@pytest.fixture
def own_stream(stack: Settings) -> Iterator[Settings]:
    """The session's stack with a stream and a lake of this test's own, so other tests' records never
    mix in (the simulator and the workers take them from ALLEYCAT_STREAM / ALLEYCAT_LAKE_URI)."""
    tag = uuid.uuid4().hex[:8]
    settings = replace(stack, stream=f"own-{tag}", lake_uri=f"s3://lake-{tag}", shards=2)
    kinesis = aws.client("kinesis", settings.region)
    kinesis.create_stream(StreamName=settings.stream, ShardCount=settings.shards)
    local_stack.wait_stream_active(kinesis, settings.stream)
    saved = {k: os.environ[k] for k in ("ALLEYCAT_STREAM", "ALLEYCAT_LAKE_URI") if k in os.environ}
    os.environ.update({"ALLEYCAT_STREAM": settings.stream, "ALLEYCAT_LAKE_URI": settings.lake_uri})
    try:
        yield settings
    finally:
        os.environ.update(saved)
        kinesis.delete_stream(StreamName=settings.stream)
