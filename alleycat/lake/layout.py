"""Where each dataset of the lake lives under the lake URI (``Settings.lake_uri``).

Both wirings use it: the local stack's Firehose and Glue job write there, and the AWS template
declares the same prefixes (``infra.aws.template``), so local and AWS cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LakeLayout:
    """Every lake location, derived from the lake URI (s3://bucket[/prefix])."""

    root: str

    @property
    def raw(self) -> str:  # Firehose output: raw/telemetry/dt=YYYY-MM-DD/hour=HH/<object>.parquet
        return f"{self.root}/raw/telemetry"

    @property
    def processing_failed(self) -> str:  # Firehose error output prefix
        return f"{self.root}/raw/processing-failed"

    def hudi_table(self, name: str) -> str:  # telemetry, race_results, racer_bests
        return f"{self.root}/hudi/{name}"

    @property
    def bests_export(self) -> str:  # class-<classId>.json.gz, loaded by clients before a race
        return f"{self.root}/exports/racer-bests"

    @property
    def checkpoints(self) -> str:  # Spark Structured Streaming checkpoints
        return f"{self.root}/checkpoints"
