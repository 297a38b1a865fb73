"""``alleycat sql FILE|-``: run an Athena SQL file locally (DuckDB over the lake) or on Athena."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alleycat.lake.location import Lake
from alleycat.settings import Settings
from alleycat.sql_engine import SqlError, athena, output, params
from alleycat.sql_engine.local import LocalEngine


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sql",
        help="run Athena SQL locally (DuckDB over the lake) or on Athena",
        description="Run one Athena (Trino) statement, e.g. a file of sql/queries. Parameters are "
        "declared in the file's header (-- param: name type) and written :name in the SQL.",
    )
    parser.add_argument("file", help="a .sql file, or - for standard input")
    parser.add_argument("--engine", choices=("local", "athena"), default="local")
    parser.add_argument("--format", choices=output.FORMATS, default="table")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="repeatable")
    parser.add_argument("--show-sql", action="store_true", help="print the DuckDB translation instead (local)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the statement and print its result. A query that cannot run is a ``SqlError`` (the
    reason in its message), and so is a query file or a lake file that cannot be read."""
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        query = params.Query.from_text(text)
        values = params.parse_assignments(args.param)
        if args.engine == "athena":
            sql, ordered = params.positional(query, values)
            where = athena.AthenaSettings(workgroup=settings.athena_workgroup, output_location=settings.athena_output)
            result = athena.run(sql, ordered, where)
        else:
            engine = LocalEngine(Lake(settings.lake_uri, settings.local_s3_root))
            sql = params.substitute(query, values)
            if args.show_sql:
                print(engine.translate(sql))
                return 0
            result = engine.run(sql)
    except OSError as exc:
        raise SqlError(str(exc)) from exc
    print(output.render(result, args.format))
    return 0
