"""The local engine over the raw zone and the processing-failed records, and the `sql` command."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from collections import Counter

import pytest

from alleycat.cli import main
from alleycat.cli import sql as sql_command
from alleycat.lake.location import Lake
from alleycat.settings import Settings
from alleycat.sql_engine import SqlError
from alleycat.sql_engine.local import LocalEngine
from tests.sql.conftest import Sim


def _hour_partition(ms: int) -> tuple[str, str]:
    when = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return f"{when:%Y-%m-%d}", f"{when:%H}"


def test_raw_table_keeps_partitions_as_strings(raw_lake: Lake, sim: Sim) -> None:
    rows = LocalEngine(raw_lake).run("SELECT dt, hour, count(*) AS n FROM raw_telemetry GROUP BY dt, hour").to_pylist()
    expected = Counter(_hour_partition(d.event.device_timestamp) for d in sim.deliveries)
    assert {(r["dt"], r["hour"]): r["n"] for r in rows} == expected
    assert all(isinstance(r["hour"], str) and len(r["hour"]) == 2 for r in rows)


def test_processing_failed_records_are_a_table(raw_lake: Lake, sim: Sim) -> None:
    rows = (
        LocalEngine(raw_lake)
        .run("SELECT arrival_timestamp, from_base64(raw_data) AS data FROM alleycat.processing_failed")
        .to_pylist()
    )
    assert sorted((r["arrival_timestamp"], r["data"]) for r in rows) == sorted(sim.malformed)


def test_unknown_tables_and_missing_hudi_tables_are_errors(raw_lake: Lake, tmp_path) -> None:
    with pytest.raises(SqlError, match="unknown table"):
        LocalEngine(raw_lake).run("SELECT * FROM nowhere")
    with pytest.raises(SqlError, match="no Hudi table"):
        LocalEngine(Lake("s3://empty", tmp_path)).run("SELECT count(*) FROM alleycat.telemetry")


def _command(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sql_command.register(parser.add_subparsers())
    return parser.parse_args(["sql", *argv])


def test_sql_command_reads_stdin_substitutes_and_prints_json(
    raw_lake: Lake, sim: Sim, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(lake_uri=raw_lake.uri, local_s3_root=raw_lake.local_root)
    racer = sim.events[0].racer_id
    text = "-- param: racer_id integer\nSELECT count(*) AS n FROM alleycat.raw_telemetry WHERE racer_id = :racer_id"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    args = _command(["-", "--format", "json", "--param", f"racer_id={racer}"])
    assert args.func(args, settings) == 0
    expected = sum(d.event.racer_id == racer for d in sim.deliveries)
    assert json.loads(capsys.readouterr().out) == [{"n": expected}]


def test_sql_command_reports_refused_constructs(
    raw_lake: Lake, tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ALLEYCAT_LAKE_URI", raw_lake.uri)
    monkeypatch.setenv("ALLEYCAT_S3_ROOT", str(raw_lake.local_root))
    query = tmp_path / "q.sql"
    query.write_text('SELECT "$path", count(*) FROM alleycat.raw_telemetry GROUP BY 1')
    assert main(["sql", str(query)]) == 1  # the CLI reports the SqlError
    assert '"$path" is an Athena hidden column' in capsys.readouterr().err
