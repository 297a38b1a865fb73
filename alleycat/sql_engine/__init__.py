"""Run the analysts' Athena SQL (``sql/queries``): locally with DuckDB over the lake, or on Athena.

``params`` substitutes typed parameters, ``transpile`` turns Trino SQL into DuckDB SQL with the
fixes Trino semantics need, ``local`` registers the lake's tables and runs queries, ``athena``
runs the same text on Amazon Athena, ``output`` prints results, ``ddl`` renders ``sql/ddl``.
The command is ``alleycat sql`` (``alleycat.cli.sql``).
"""

from alleycat.errors import AlleycatError


class SqlError(AlleycatError):
    """A query that cannot run (or cannot run faithfully); the message names the reason."""
