"""The local engine (Trino over the local Glue Data Catalog): the raw zone, the processing-failed
records, the catalog's registration, and the `sql` command."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import pytest

from alleycat.cli import main
from alleycat.cli import sql as sql_command
from alleycat.lake.location import Lake
from alleycat.settings import Settings
from alleycat.sql_engine import SqlError
from infra.local import glue_catalog, trino
from tests.conftest import Athena
from tests.sql.conftest import Sim


def _hour_partition(ms: int) -> tuple[str, str]:
    when = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return f"{when:%Y-%m-%d}", f"{when:%H}"


def test_raw_table_keeps_partitions_as_strings(raw_lake: Lake, sim: Sim, athena: Athena) -> None:
    rows = athena.query(raw_lake, "SELECT dt, hour, count(*) AS n FROM raw_telemetry GROUP BY dt, hour").to_pylist()
    expected = Counter(_hour_partition(d.event.device_timestamp) for d in sim.deliveries)
    assert {(r["dt"], r["hour"]): r["n"] for r in rows} == expected
    assert all(isinstance(r["hour"], str) and len(r["hour"]) == 2 for r in rows)


def test_processing_failed_records_are_a_table(raw_lake: Lake, sim: Sim, athena: Athena) -> None:
    sql = "SELECT arrival_timestamp, from_base64(raw_data) AS data FROM alleycat.processing_failed"
    rows = athena.query(raw_lake, sql).to_pylist()
    assert sorted((r["arrival_timestamp"], r["data"]) for r in rows) == sorted(sim.malformed)


def test_unknown_tables_and_missing_hudi_tables_are_errors(raw_lake: Lake, tmp_path: Path, athena: Athena) -> None:
    with pytest.raises(SqlError, match="TABLE_NOT_FOUND"):
        athena.query(raw_lake, "SELECT * FROM nowhere")
    with pytest.raises(SqlError, match="does not contain Hudi table metadata"):
        athena.query(Lake("s3://empty", tmp_path), "SELECT count(*) FROM alleycat.telemetry")


def test_a_table_with_no_files_yet_is_empty(tmp_path: Path, athena: Athena) -> None:
    """As an S3 prefix with no objects on Athena: Firehose has written no error record yet."""
    lake = Lake("s3://fresh-lake", tmp_path)
    assert athena.query(lake, "SELECT count(*) FROM alleycat.processing_failed").rows == [(0,)]
    assert athena.query(lake, "SELECT count(*) FROM alleycat.raw_telemetry").rows == [(0,)]


def test_a_new_partition_is_seen_once_the_catalog_syncs(raw_lake: Lake, tmp_path: Path, athena: Athena) -> None:
    """A lake of its own: a raw partition copied in later is invisible until the catalog registers it."""
    lake = Lake(raw_lake.uri, tmp_path)
    source = Path(raw_lake.resolve(raw_lake.layout.raw))
    first, second = sorted(source.glob("dt=*/hour=*"))[:2]
    target = Path(lake.resolve(lake.layout.raw))
    for part in (first,):
        (target / part.relative_to(source)).mkdir(parents=True)
        (target / part.relative_to(source) / "part-0.parquet").write_bytes((part / "part-0.parquet").read_bytes())
    sql = "SELECT count(DISTINCT hour) AS n FROM raw_telemetry"
    assert athena.query(lake, sql).rows == [(1,)]
    (target / second.relative_to(source)).mkdir(parents=True)
    (target / second.relative_to(source) / "part-0.parquet").write_bytes((second / "part-0.parquet").read_bytes())
    assert sql_command_rows(athena, sql) == [(1,)]  # not registered yet
    assert glue_catalog.sync(lake, trino.metastore_dir(athena.settings)) == 1  # the new partition
    assert athena.query(lake, sql).rows == [(2,)]


def sql_command_rows(athena: Athena, sql: str) -> list[tuple[object, ...]]:
    """The statement on the engine without syncing the catalog first."""
    from alleycat.sql_engine import local

    return local.run(sql, athena.where).rows


def _command(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sql_command.register(parser.add_subparsers())
    return parser.parse_args(["sql", *argv])


def test_sql_command_reads_stdin_substitutes_and_prints_json(
    raw_lake: Lake, sim: Sim, athena: Athena, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    athena.register(raw_lake)
    settings = Settings(lake_uri=raw_lake.uri, local_s3_root=raw_lake.local_root, trino_port=athena.where.port)
    racer = sim.events[0].racer_id
    text = "-- param: racer_id integer\nSELECT count(*) AS n FROM alleycat.raw_telemetry WHERE racer_id = :racer_id;"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    args = _command(["-", "--format", "json", "--param", f"racer_id={racer}"])
    assert args.func(args, settings) == 0
    expected = sum(d.event.racer_id == racer for d in sim.deliveries)
    assert json.loads(capsys.readouterr().out) == [{"n": expected}]


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("CREATE TABLE alleycat.copy AS SELECT * FROM alleycat.raw_telemetry", "CREATE"),
        ("INSERT INTO alleycat.raw_telemetry SELECT * FROM alleycat.raw_telemetry", "INSERT INTO"),
        ("-- a comment first\nDROP TABLE alleycat.raw_telemetry", "DROP"),
        ("MSCK REPAIR TABLE alleycat.raw_telemetry", "MSCK REPAIR TABLE"),
        ("ALTER TABLE alleycat.raw_telemetry ADD PARTITION (dt = '2024-05-01', hour = '00')", "ALTER"),
        ("DELETE FROM alleycat.raw_telemetry", "DELETE"),
    ],
)
def test_writes_are_refused_by_name(
    statement: str, named: str, athena: Athena, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("ALLEYCAT_TRINO_PORT", str(athena.where.port))
    query = tmp_path / "q.sql"
    query.write_text(statement)
    assert main(["sql", str(query)]) == 1  # the CLI reports the SqlError
    err = capsys.readouterr().err
    assert f"error: {named}" in err and "writes are not supported locally" in err


def test_trino_itself_is_read_only(athena: Athena) -> None:
    """Past the client's refusal, the server's access control refuses writes too."""
    from alleycat.sql_engine import local

    with pytest.raises(SqlError, match="Access Denied"):
        local.execute("CREATE SCHEMA awsdatacatalog.scratch", athena.where)
