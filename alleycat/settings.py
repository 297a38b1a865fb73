"""Settings from the environment, with defaults that run the local stack.

Endpoints are never configured here: boto3 reads the standard ``AWS_ENDPOINT_URL`` and
``AWS_ENDPOINT_URL_<SERVICE>`` variables itself, so the same code talks to AWS when they are unset.
``alleycat env`` prints the variables that point everything at the local stack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"error: {name}={raw!r} is not a whole number") from None


@dataclass(frozen=True)
class Settings:
    home: Path
    region: str
    stream: str
    table: str
    lake_uri: str
    shards: int
    kinesis_port: int
    dynamodb_port: int
    api_port: int

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            home=Path(os.environ.get("ALLEYCAT_HOME", ".alleycat")).resolve(),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            stream=os.environ.get("ALLEYCAT_STREAM", "alleycat-telemetry"),
            table=os.environ.get("ALLEYCAT_TABLE", "alleycat"),
            lake_uri=os.environ.get("ALLEYCAT_LAKE_URI", "s3://alleycat-lake").rstrip("/"),
            shards=_int_env("ALLEYCAT_SHARDS", 4),
            kinesis_port=_int_env("ALLEYCAT_KINESIS_PORT", 4567),
            dynamodb_port=_int_env("ALLEYCAT_DYNAMODB_PORT", 8000),
            api_port=_int_env("ALLEYCAT_API_PORT", 8080),
        )

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
    def dynamodb_url(self) -> str:
        return f"http://127.0.0.1:{self.dynamodb_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"
