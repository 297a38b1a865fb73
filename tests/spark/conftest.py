"""Spark fixtures: a private lake per test (its local root under the test's tmp_path). The
session-wide ``spark`` fixture is in tests/conftest.py (the Kafka lake test uses it as well)."""

from __future__ import annotations

from pathlib import Path

import pytest

from glue_jobs.config import JobConfig


@pytest.fixture
def s3_root(tmp_path: Path) -> Path:
    return tmp_path / "s3"


@pytest.fixture
def job(s3_root: Path) -> JobConfig:
    return JobConfig(lake_uri="s3://lake", local_root=s3_root, mode="once")
