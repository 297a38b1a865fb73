"""The ``alleycat`` command: one entry point, a module per command group.

The shell at the top of the layers: the one place that knows every component. ``main`` builds the
``Settings`` once from the environment and hands them to the command; libraries raise typed
errors (``alleycat.errors``) and only this module turns them into a message and an exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from types import ModuleType

from alleycat import logs
from alleycat.errors import AlleycatError
from alleycat.settings import Settings


def commands(argv: list[str]) -> tuple[ModuleType, ...]:
    """The command modules, each with ``register(subparsers)``; imported, not loaded by name, so the
    type checker and the import contracts see every command. The commands that other processes run
    (``sql``, ``simulate``, ``consume``) import only their own module: the others bring boto3,
    FastAPI and Spark's wiring, 0.7 s before a simulator sends its first record."""
    named = _command_named(argv)
    if named == "sql":
        from alleycat.cli import sql

        return (sql,)
    if named == "simulate":
        from alleycat.cli import simulate

        return (simulate,)
    if named == "consume":
        from alleycat.cli import consume

        return (consume,)
    from alleycat.cli import api, consume, lake, leaderboard, simulate, sql, stack

    return (stack, simulate, consume, leaderboard, api, lake, sql)


def _command_named(argv: list[str]) -> str | None:
    """The command on the command line (after any global option), or None (``--help``, nothing)."""
    rest = _global_options(add_help=False).parse_known_args(argv)[1]
    return rest[0] if rest and not rest[0].startswith("-") else None


def _global_options(add_help: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alleycat",
        description="Streaming analytics for virtual bike racing. Start with `alleycat up`.",
        add_help=add_help,
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default), ERROR")
    return parser


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = _global_options()
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in commands(sys.argv[1:] if argv is None else argv):
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser(argv).parse_args(argv)
    try:
        settings = Settings.from_env()
        logs.setup(args.log_level or settings.log_level)
        return int(args.func(args, settings) or 0)
    except AlleycatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`alleycat leaderboard --json | head`): not an error. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
