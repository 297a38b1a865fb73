"""The lake's URIs and where they live on this machine.

Code always names lake objects by ``s3://bucket/prefix`` URIs. On AWS those are S3. On the local
stack a directory stands in for S3 (``Settings.local_s3_root``): ``s3://bucket/prefix`` is the
directory ``<local_root>/bucket/prefix``, so Spark, pyarrow, DuckDB and hudi-rs read it natively.
The root is always an argument (the edge reads it from ``Settings``), never the environment.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.fs as pafs


def resolve(uri: str, local_root: Path | None) -> str:
    """The location engines should open: a local path when ``local_root`` is set, else the URI itself."""
    if local_root is None or not uri.startswith("s3://"):
        return uri
    return str(local_root / uri.removeprefix("s3://"))


def filesystem(uri: str, local_root: Path | None) -> tuple[pafs.FileSystem, str]:
    """A pyarrow filesystem and the path within it for ``uri``."""
    location = resolve(uri, local_root)
    if location.startswith("s3://"):
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), location


def join(uri: str, *parts: str) -> str:
    return "/".join([uri.rstrip("/"), *(p.strip("/") for p in parts)])
