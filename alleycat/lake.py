"""The lake's URIs and where they live.

Code always names lake objects by ``s3://bucket/prefix`` URIs. On AWS those are S3. When
``ALLEYCAT_S3_ROOT`` is set (the local stack sets it), ``s3://bucket/prefix`` is the directory
``$ALLEYCAT_S3_ROOT/bucket/prefix``, so Spark, pyarrow, DuckDB and hudi-rs read it natively.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.fs as pafs


def local_root() -> Path | None:
    root = os.environ.get("ALLEYCAT_S3_ROOT")
    return Path(root) if root else None


def resolve(uri: str) -> str:
    """The location engines should open: a local path for the local stack, else the URI itself."""
    root = local_root()
    if root is None or not uri.startswith("s3://"):
        return uri
    return str(root / uri.removeprefix("s3://"))


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path within it for ``uri``."""
    location = resolve(uri)
    if location.startswith("s3://"):
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), location


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts)])
