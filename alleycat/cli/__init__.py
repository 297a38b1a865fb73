"""The ``alleycat`` command: one entry point, a module per command group.

The shell at the top of the layers: the one place that knows every component. ``main`` builds the
``Settings`` once from the environment and hands them to the command; libraries raise typed
errors (``alleycat.errors``) and only this module turns them into a message and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys

from alleycat import logs
from alleycat.errors import AlleycatError
from alleycat.settings import Settings

# TRANSITION (lead): module path -> registers its subcommands. Each area moves its cli module to
# alleycat/cli/<name>.py and updates its line here; at the end this becomes plain imports.
COMMAND_MODULES = [
    "alleycat.cli.stack",
    "alleycat.cli.sql",
    "alleycat.cli.simulate",
    "alleycat.cli.consume",
    "alleycat.cli.leaderboard",
    "alleycat.cli.api",
    "alleycat.cli.lake",
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
    try:
        settings = Settings.from_env()
        logs.setup(args.log_level or settings.log_level)
        if len(inspect.signature(args.func).parameters) == 1:  # TRANSITION: old-style command
            return int(args.func(args) or 0)
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

