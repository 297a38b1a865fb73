"""``alleycat sql FILE|-``: run an Athena SQL file locally (Trino, the local stack's) or on Athena.

Kept light: ``SELECT 1`` answers in well under a second, so nothing heavy (boto3, pyarrow) is
imported before the command knows it needs it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alleycat.settings import Settings
from alleycat.sql_engine import SqlError, local, output, params


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sql",
        help="run Athena SQL locally (Trino over the lake) or on Athena",
        description="Run one Athena (engine v3, Trino) statement, e.g. a file of sql/queries, on the local "
        "stack's Trino or on Athena. Parameters are declared in the file's header (-- param: name type) "
        "and written :name in the SQL.",
    )
    parser.add_argument("file", help="a .sql file, or - for standard input")
    parser.add_argument("--engine", choices=("local", "athena"), default="local")
    parser.add_argument("--format", choices=output.FORMATS, default="table")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable")
    parser.add_argument("--show-sql", action="store_true", help="print the statement as sent, parameters substituted")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the statement and print its result. A query that cannot run is a ``SqlError`` (the
    reason in its message), and so is a query file that cannot be read."""
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    except OSError as exc:
        raise SqlError(str(exc)) from exc
    query = params.Query.from_text(text)
    values = params.parse_assignments(args.param)
    if args.engine == "athena":
        from alleycat.sql_engine import athena  # boto3: only for Athena

        sql, ordered = params.positional(query, values)
        where = athena.AthenaSettings(workgroup=settings.athena_workgroup, output_location=settings.athena_output)
        result = athena.run(sql, ordered, where)
    else:
        sql = params.substitute(query, values)
        if args.show_sql:
            print(sql)
            return 0
        result = local.run(sql, local.TrinoSettings.of_stack(settings))
    print(output.render(result, args.format))
    return 0
