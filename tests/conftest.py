"""Shared fixtures. ``stack`` starts a private local stack (free ports, temporary home) once per
test session, points this process's boto3 at it, and stops it at the end."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

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
    from alleycat import aws

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
