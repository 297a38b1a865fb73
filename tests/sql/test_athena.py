"""The Athena engine against botocore's Stubber: the calls it makes, polling, paging, typing."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from alleycat.sql_engine import SqlError, athena, output

SETTINGS = athena.AthenaSettings(workgroup="analysts", output_location="s3://results/alleycat/", poll_seconds=0)
COLUMNS = [
    {"Name": "place", "Type": "bigint"},
    {"Name": "name", "Type": "varchar"},
    {"Name": "total_output", "Type": "double"},
    {"Name": "finished", "Type": "boolean"},
    {"Name": "day", "Type": "date"},
]


def _row(*values: str | None) -> dict:
    return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("athena", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(athena.aws, "client", lambda service: client)
    with Stubber(client) as stubber:
        yield stubber


def _execution(state: str, reason: str = "") -> dict:
    status = {"State": state} | ({"StateChangeReason": reason} if reason else {})
    return {"QueryExecution": {"QueryExecutionId": "q-1", "Status": status, "Statistics": {"DataScannedInBytes": 42}}}


def test_runs_polls_and_pages_typed_rows(stubbed: Stubber) -> None:
    stubbed.add_response(
        "start_query_execution",
        {"QueryExecutionId": "q-1"},
        {
            "QueryString": "SELECT ? AS race",
            "QueryExecutionContext": {"Database": "alleycat"},
            "WorkGroup": "analysts",
            "ResultConfiguration": {"OutputLocation": "s3://results/alleycat/"},
            "ExecutionParameters": ["5715358"],
        },
    )
    stubbed.add_response("get_query_execution", _execution("QUEUED"), {"QueryExecutionId": "q-1"})
    stubbed.add_response("get_query_execution", _execution("RUNNING"), {"QueryExecutionId": "q-1"})
    stubbed.add_response("get_query_execution", _execution("SUCCEEDED"), {"QueryExecutionId": "q-1"})
    metadata = {"ColumnInfo": COLUMNS}
    stubbed.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": [
                    _row("place", "name", "total_output", "finished", "day"),
                    _row("1", "Ada", "7632.208", "true", "2024-05-01"),
                ],
                "ResultSetMetadata": metadata,
            },
            "NextToken": "page-2",
        },
        {"QueryExecutionId": "q-1"},
    )
    stubbed.add_response(
        "get_query_results",
        {"ResultSet": {"Rows": [_row("2", None, "7228.5", "false", None)], "ResultSetMetadata": metadata}},
        {"QueryExecutionId": "q-1", "NextToken": "page-2"},
    )
    progress = io.StringIO()
    table = athena.run("SELECT ? AS race", ["5715358"], SETTINGS, progress=progress)
    stubbed.assert_no_pending_responses()
    assert table.to_pylist() == [
        {"place": 1, "name": "Ada", "total_output": 7632.208, "finished": True, "day": dt.date(2024, 5, 1)},
        {"place": 2, "name": None, "total_output": 7228.5, "finished": False, "day": None},
    ]
    assert [line.split(": ")[1].split()[0] for line in progress.getvalue().splitlines()] == [
        "QUEUED",
        "RUNNING",
        "SUCCEEDED",
    ]
    assert output.render(table, "csv").splitlines() == [
        "place,name,total_output,finished,day",
        "1,Ada,7632.208,true,2024-05-01",
        "2,,7228.5,false,",
    ]


def test_a_failed_query_is_an_error_with_athenas_reason(stubbed: Stubber) -> None:
    stubbed.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stubbed.add_response(
        "get_query_execution", _execution("FAILED", "TABLE_NOT_FOUND: line 1:15: Table 'x' does not exist")
    )
    with pytest.raises(SqlError, match="FAILED: TABLE_NOT_FOUND"):
        athena.run("SELECT * FROM x", [], SETTINGS, progress=io.StringIO())
