"""Spark fixtures: one local[2] SparkSession (with the Hudi bundle) for the whole test session,
and a private lake per test (its local root under the test's tmp_path)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from glue_jobs.config import JobConfig
from glue_jobs.session import local_spark_session


@pytest.fixture(scope="session")
def spark() -> Iterator[SparkSession]:
    session = local_spark_session("alleycat-tests")
    yield session
    session.stop()


@pytest.fixture
def s3_root(tmp_path: Path) -> Path:
    return tmp_path / "s3"


@pytest.fixture
def job(s3_root: Path) -> JobConfig:
    return JobConfig(lake_uri="s3://lake", local_root=s3_root, mode="once")
