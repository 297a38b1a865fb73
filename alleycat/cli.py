"""The ``alleycat`` command: one entry point, a subcommand per job.

Each area registers its own subcommands (``register(subparsers)``); this module only assembles
them, so adding a command never means editing another area's code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from alleycat import logs
from infra.local.processes import StackError

# module path -> registers its subcommands
COMMAND_MODULES = [
    "infra.local.cli",
    "alleycat.sql_engine.cli",
    "producers.cli",
    "infra.local.esm.cli",
    "consumers.cli",
    "consumers.api.cli",
    "infra.local.lake_cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alleycat",
        description="Streaming analytics for virtual bike racing. Start with `alleycat up`.",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default), ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.setup(args.log_level)
    try:
        return int(args.func(args) or 0)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
