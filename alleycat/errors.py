"""Typed errors of Alleycat. Libraries raise these; only the CLI turns them into messages and exit codes.

Every error a user can cause or fix (a bad setting, a stack that will not start, a bad query) is an
``AlleycatError``: its message is one line that says what is wrong and, where it helps, what to do.
"""

from __future__ import annotations


class AlleycatError(Exception):
    """Base of the errors the CLI reports as ``error: <message>`` with exit code 1."""

    exit_code = 1


class ConfigError(AlleycatError):
    """A setting (environment variable or option) is missing or malformed."""

    exit_code = 2


class UsageError(AlleycatError):
    """Options that cannot go together, or a value out of range, given on the command line."""

    exit_code = 2


class StackError(AlleycatError):
    """The local stack cannot do what was asked: a port in use, a missing program, a server that
    died or never became healthy."""


class TimedOut(AlleycatError):
    """A wait for the pipeline (a race counted, a table written) ran out of time."""
