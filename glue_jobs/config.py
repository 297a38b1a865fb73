"""What one run of the Glue job is configured with: its job arguments, as a value.

``telemetry_job.main`` builds it from the job arguments (and the lake's local root from
``Settings``); the local wiring, tests and benchmarks build it directly. Everything below the
driver takes it as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from alleycat.lake import catalog, uris
from alleycat.lake.catalog import CatalogTable
from alleycat.lake.layout import LakeLayout
from alleycat.lake.location import Lake

Mode = Literal["stream", "once", "backfill"]
Source = Literal["raw", "kinesis"]


@dataclass(frozen=True)
class JobConfig:
    lake_uri: str
    # s3://bucket/prefix is <local_root>/bucket/prefix when set (the local stack); None on AWS
    local_root: Path | None = None
    mode: Mode = "stream"
    source: Source = "raw"
    trigger_seconds: int = 60
    max_files_per_trigger: int = 1000
    kinesis_stream_arn: str = ""  # source="kinesis" (AWS only)
    glue_database: str = ""  # set in AWS: Hive sync of the Hudi tables to this Glue database
    export_bests: bool = True
    # the DynamoDB table whose RESULT and BEST items the lake corrects after each commit ("": none)
    results_table: str = ""

    @property
    def lake(self) -> Lake:
        return Lake(self.lake_uri, self.local_root)

    @property
    def layout(self) -> LakeLayout:
        return self.lake.layout

    def table(self, name: str) -> CatalogTable:
        return catalog.table(self.lake, name)

    @property
    def checkpoint(self) -> str:
        """Where Structured Streaming keeps this source's progress (one checkpoint per source)."""
        return self.lake.resolve(uris.join(self.layout.checkpoints, f"telemetry-job-{self.source}"))
