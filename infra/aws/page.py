"""`make deploy`'s last step: the race page's files into the stack's page bucket, and its
``config.json`` from the stack's outputs (the contract: docs/api.md, "The race page").

The keys are the paths the local API serves them under (``index.html`` at the root, the rest under
``page/``), so the page's own links are the same in both wirings. Every object is sent with
``Cache-Control: no-cache``, as the local API sends them: CloudFront revalidates with S3 (its 1 s
minimum TTL), so a deploy shows at once and no invalidation is made. Uploading again puts the same
objects; files that left the page are deleted from the bucket (versioning keeps them for 30 days).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consumers.api.routers.page import PAGE
from infra.aws.errors import DeployError

CONFIG_KEY = "config.json"
PREFIX = "page/"
CACHE_CONTROL = "no-cache"
# The page's file types, named rather than guessed: an unknown one stops the deploy.
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",  # the vendored libraries' licences (page/vendor/)
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True)
class PageFile:
    path: Path
    key: str
    content_type: str


def page_config(outputs: dict[str, str]) -> dict[str, Any]:
    """config.json for the stack whose outputs these are (``infra.aws.template.page.outputs``)."""
    try:
        return {
            "apiBase": outputs["PageApiBase"],
            "live": {
                "channel": "iot",
                "region": outputs["Region"],
                "endpoint": outputs["IotDataEndpoint"].removeprefix("https://"),
                "identityPoolId": outputs["LiveIdentityPoolId"],
            },
            "auth": {
                "domain": outputs["PageAuthDomain"],
                "clientId": outputs["PageUserPoolClientId"],
                "redirectUri": outputs["PageUrl"],
                "scopes": outputs["PageScopes"].split(),
            },
        }
    except KeyError as e:
        raise DeployError(f"the stack has no output {e}: deploy the current template first") from None


def page_files(root: Path = PAGE) -> list[PageFile]:
    """Every file of the page, with its key and content type, in key order."""
    files = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        content_type = CONTENT_TYPES.get(path.suffix)
        if content_type is None:
            raise DeployError(f"no content type for {relative}: add its suffix to CONTENT_TYPES")
        key = relative if relative == "index.html" else f"{PREFIX}{relative}"
        files.append(PageFile(path, key, content_type))
    return files


def upload_page(s3: Any, bucket: str, files: list[PageFile], config: dict[str, Any]) -> None:
    """Put ``files`` and ``config`` into ``bucket`` (a boto3 S3 client), delete stale page files."""
    for f in files:
        s3.put_object(
            Bucket=bucket, Key=f.key, Body=f.path.read_bytes(), ContentType=f.content_type, CacheControl=CACHE_CONTROL
        )
    s3.put_object(
        Bucket=bucket,
        Key=CONFIG_KEY,
        Body=json.dumps(config, indent=2).encode(),
        ContentType=CONTENT_TYPES[".json"],
        CacheControl=CACHE_CONTROL,
    )
    keep = {f.key for f in files}
    stale = [
        {"Key": o["Key"]}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX)
        for o in page.get("Contents", [])
        if o["Key"] not in keep
    ]
    if stale:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": stale, "Quiet": True})
    print(f"uploaded the race page ({len(files)} files, {CONFIG_KEY}) to s3://{bucket}; {len(stale)} stale deleted")
