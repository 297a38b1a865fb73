"""The conformance corpus (``conformance.yaml``): Athena statements with Athena's answers, written
by hand from Trino's semantics and documentation, run on the local engine.

The fixed dataset: six raw rows in two hour partitions either side of midnight UTC (all on
2024-05-01 in New York), chosen so each construct shows its semantics (cadences ending in .5,
outputs that are exact halves in cents), in the lake ``s3://alleycat-lake`` (so ``SHOW CREATE
TABLE`` prints exactly ``sql/ddl``). Cases marked ``hudi`` use the seeded lake the Glue job builds.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from alleycat.lake.location import Lake
from alleycat.lake.schema import RAW_SCHEMA
from alleycat.sql_engine import SqlError
from alleycat.sql_engine.ddl import DDL_DIR
from tests.conftest import Athena

CORPUS = yaml.safe_load((Path(__file__).with_name("conformance.yaml")).read_text())["cases"]
LAKE_URI = "s3://alleycat-lake"
SHARD = "shardId-000000000000"

# uuid, event, device_timestamp, second, race_id, name, racer_id, class_id, cadence, resistance
ROWS = [
    ("a1", "update", 1714607970000, 1, 5715359, "Ada", 1, 1, 20.5, 10.0),  # 2024-05-01 23:59:30 UTC
    ("a2", "update", 1714607971000, 2, 5715359, "Ada", 1, 1, 21.5, 10.0),
    ("a3", "final", 1714607972000, 3, 5715359, "Ada", 1, 1, 98.0, 10.0),
    ("b1", "update", 1714607970000, 1, 5715359, "Bo", 2, 1, 30.0, 20.0),
    ("b2", "final", 1714608010000, 10, 5715360, "Bo", 2, 2, 40.5, 0.0),  # 2024-05-02 00:00:10 UTC
    ("c1", "update", 1714608011000, 11, 5715360, "Cy", 3, 2, 41.5, 0.0),
]


def _output(cadence: float, resistance: float) -> float:
    return ((cadence + 35) * (resistance + 65)) / 100


@pytest.fixture(scope="module")
def fixed_lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(LAKE_URI, tmp_path_factory.mktemp("conformance-s3"))
    for partition, part_rows in (("dt=2024-05-01/hour=23", ROWS[:4]), ("dt=2024-05-02/hour=00", ROWS[4:])):
        names = [f.name for f in RAW_SCHEMA][:10]
        columns: dict[str, list[Any]] = {n: [r[i] for r in part_rows] for i, n in enumerate(names)}
        columns["output"] = [_output(r[8], r[9]) for r in part_rows]
        columns["arrival_timestamp"] = [r[2] + 500 for r in part_rows]
        columns["shard_id"] = [SHARD] * len(part_rows)
        columns["sequence_number"] = [str(ROWS.index(r) + 1) for r in part_rows]
        directory = Path(lake.resolve(lake.layout.raw)) / partition
        directory.mkdir(parents=True)
        pq.write_table(pa.table(columns, schema=RAW_SCHEMA), directory / "part-0.parquet")
    failed = Path(lake.resolve(lake.layout.processing_failed)) / "2024" / "05" / "02" / "00"
    failed.mkdir(parents=True)
    (failed / "records").write_text("")
    return lake


def _value(value: Any) -> Any:
    """A result value as the corpus writes it."""
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return f"{text} {value.tzinfo}" if value.tzinfo is not None else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _ddl_lines(name: str) -> list[list[str]]:
    return [[line] for line in (DDL_DIR / name).read_text().splitlines() if not line.startswith("--")]


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_conformance(case: dict[str, Any], athena: Athena, fixed_lake: Lake, request: pytest.FixtureRequest) -> None:
    lake = request.getfixturevalue("hudi_lake") if case.get("hudi") else fixed_lake
    if "error" in case:
        with pytest.raises(SqlError) as refused:
            athena.query(lake, case["sql"])
        assert re.search(case["error"], str(refused.value)), str(refused.value)
        return
    result = athena.query(lake, case["sql"])
    rows = [[_value(v) for v in row] for row in result.rows]
    if "columns" in case:
        assert result.columns == case["columns"]
    if "rows" in case:
        assert rows == case["rows"]
    if "tail" in case:
        assert rows[-len(case["tail"]) :] == case["tail"]
    if "ddl_file" in case:
        assert result.columns == ["createtab_stmt"]
        assert rows == _ddl_lines(case["ddl_file"])


def test_the_corpus_covers_what_it_promises() -> None:
    """Every case cites its source; the corpus is not a handful."""
    assert len(CORPUS) >= 30
    assert all(c.get("source") for c in CORPUS)
    assert all(sum(k in c for k in ("rows", "columns", "tail", "ddl_file", "error")) >= 1 for c in CORPUS)
