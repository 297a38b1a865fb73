"""Lake locations as CloudFormation sees them: ``alleycat.lake.layout.LakeLayout`` rooted at the
lake bucket (``s3://${LakeBucket}``, a substitution), and the object ARNs and key prefixes under it."""

from __future__ import annotations

from typing import Any

from alleycat.lake.layout import LakeLayout
from infra.aws.template.intrinsics import sub

LAKE_URI = "s3://${LakeBucket}"
LAKE = LakeLayout(LAKE_URI)
DEAD_LETTER_PREFIX = "dead-letter"  # alleycat.adapters.dead_letter: s3://bucket/<prefix>/<source>/dt=.../


def lake_key(uri: str) -> str:
    """The object key prefix of a lake URI: s3://${LakeBucket}/raw/telemetry -> raw/telemetry."""
    return uri.removeprefix(LAKE_URI + "/")


def lake_objects(*uris: str) -> list[dict[str, Any]]:
    return [sub(f"${{LakeBucket.Arn}}/{lake_key(u)}/*") for u in uris]
