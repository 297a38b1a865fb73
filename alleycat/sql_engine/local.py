"""The local engine: the Athena text, unchanged, on Trino 476 (the engine Athena v3 is built on).

The local stack's Trino (``infra.local.trino``) reads the lake through the local Glue Data
Catalog; its catalog is named ``awsdatacatalog`` and the session's schema is the Glue database, as
in an Athena query with ``QueryExecutionContext.Database``. The client is Trino's own (``trino``
on PyPI). Two kinds of statement do not go to Trino as they are, as on Athena, whose Hive DDL
engine answers them rather than Trino:

* Athena's Hive DDL statements (``SHOW TABLES``, ``SHOW COLUMNS``, ``SHOW PARTITIONS``,
  ``SHOW CREATE TABLE``, ``DESCRIBE``): answered in Athena's layout (``athena_ddl``);
* writes (``CREATE TABLE AS``, ``INSERT``, DDL that changes the catalog, ...): refused by name,
  because the local lake is written by the pipeline alone. Trino's own access control is
  read-only as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from alleycat.resources import GLUE_DATABASE
from alleycat.settings import Settings
from alleycat.sql_engine import SqlError
from alleycat.sql_engine.output import Result

CATALOG = "awsdatacatalog"
USER = "analyst"

_COMMENTS = re.compile(r"(--[^\n]*(\n|$))|(/\*.*?\*/)", re.S)
_READS = ("SELECT", "WITH", "VALUES", "TABLE", "EXPLAIN", "SHOW", "DESCRIBE", "DESC", "(")
_WRITES = {
    "INSERT": "INSERT INTO",
    "CREATE": "CREATE (TABLE, TABLE AS SELECT, VIEW, DATABASE)",
    "UNLOAD": "UNLOAD",
    "DROP": "DROP",
    "ALTER": "ALTER",
    "DELETE": "DELETE",
    "UPDATE": "UPDATE",
    "MERGE": "MERGE INTO",
    "MSCK": "MSCK REPAIR TABLE",
    "VACUUM": "VACUUM",
    "OPTIMIZE": "OPTIMIZE",
    "TRUNCATE": "TRUNCATE",
}


@dataclass(frozen=True)
class TrinoSettings:
    """Where the local engine runs; the CLI builds it from ``Settings`` (``trino_port``)."""

    host: str
    port: int
    schema: str  # the Glue database
    lake_uri: str  # the lake's s3:// URI, as SHOW CREATE TABLE prints the locations
    catalog: str = CATALOG
    timeout_s: float = 300.0

    @classmethod
    def of_stack(cls, settings: Settings) -> TrinoSettings:
        """The local stack's Trino (``infra.local.trino`` runs it), the Glue database as its schema."""
        return cls(host="127.0.0.1", port=settings.trino_port, schema=GLUE_DATABASE, lake_uri=settings.lake_uri)


def statement_text(sql: str) -> str:
    """The statement without its trailing semicolon (Trino takes one statement, no terminator)."""
    text = sql.strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        raise SqlError("no statement: the text is empty")
    return text


def first_words(sql: str, count: int = 3) -> list[str]:
    """The statement's first words, upper-cased, comments skipped."""
    return re.findall(r"\(|[A-Za-z_]+", _COMMENTS.sub(" ", sql))[:count]


def refuse_writes(sql: str) -> None:
    """SqlError naming the statement when it would write (Athena runs it on AWS; locally nothing does)."""
    words = [w.upper() for w in first_words(sql)]
    if not words:
        raise SqlError("no statement: the text holds only comments")
    if words[0] in _WRITES:
        raise SqlError(
            f"{_WRITES[words[0]]}: writes are not supported locally. Athena runs this statement on AWS; "
            "the local lake and its catalog are written only by the pipeline (the Glue job and Firehose). "
            "Query the tables with SELECT instead (docs/sql.md)."
        )
    if words[0] not in _READS:
        raise SqlError(f"{words[0]}: not a statement the local engine runs (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN)")


def execute(sql: str, where: TrinoSettings) -> Result:
    """Run one statement on Trino as it is and return its rows (SqlError with Trino's message on failure)."""
    # The client (and the HTTP stack under it) is imported here, not by every command of the CLI.
    import trino.client
    import trino.exceptions

    session = trino.client.ClientSession(user=USER, catalog=where.catalog, schema=where.schema, timezone="UTC")
    request = trino.client.TrinoRequest(
        host=where.host, port=where.port, client_session=session, http_scheme="http", request_timeout=where.timeout_s
    )
    query = trino.client.TrinoQuery(request, sql)
    try:
        rows: list[Any] = list(query.execute())
    except trino.exceptions.TrinoUserError as exc:
        raise SqlError(f"{exc.error_name}: {exc.message}") from None
    except trino.exceptions.TrinoQueryError as exc:
        raise SqlError(f"query failed: {exc.error_name}: {exc.message}") from None
    except (trino.exceptions.HttpError, OSError) as exc:
        raise SqlError(
            f"cannot reach Trino at {where.host}:{where.port} ({exc}); start the local stack with `alleycat up`"
        ) from None
    columns = [c["name"] for c in query.columns or []]
    return Result(columns, [tuple(row) for row in rows])


def run(sql: str, where: TrinoSettings) -> Result:
    """One Athena statement (parameters substituted): refused if it writes, Athena's Hive DDL answered
    in Athena's layout, anything else on Trino unchanged."""
    text = statement_text(sql)
    refuse_writes(text)
    if first_words(text, 1)[0].upper() in ("SHOW", "DESCRIBE", "DESC"):
        from alleycat.sql_engine import athena_ddl  # the table definitions (pyarrow): only for DDL

        answer = athena_ddl.answer(text, where)
        if answer is not None:
            return answer
    return execute(text, where)
