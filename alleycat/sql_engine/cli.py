"""``alleycat sql FILE|-``: run an Athena SQL file locally (DuckDB over the lake) or on Athena."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from alleycat.settings import Settings
from alleycat.sql_engine import SqlError, athena, output, params
from alleycat.sql_engine.local import LocalEngine


def register(subparsers: argparse._SubParsersAction) -> None:
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


def run(args: argparse.Namespace) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
        query = params.Query.from_text(text)
        values = params.parse_assignments(args.param)
        if args.engine == "athena":
            sql, ordered = params.positional(query, values)
            result = athena.run(sql, ordered, athena.AthenaSettings.from_env())
        else:
            engine = LocalEngine(Settings.from_env().lake_uri)
            sql = params.substitute(query, values)
            if args.show_sql:
                print(engine.translate(sql))
                return 0
            result = engine.run(sql)
    except (SqlError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(output.render(result, args.format))
    return 0
