"""Run the analysts' Athena SQL (``sql/queries``): locally on Trino (the local stack's), or on Athena.

``params`` substitutes typed parameters, ``local`` sends the statement unchanged to Trino 476 (the
engine Athena v3 is built on) and refuses writes by name, ``athena_ddl`` answers Athena's Hive DDL
statements (SHOW ..., DESCRIBE) in Athena's layout, ``athena`` runs the same text on Amazon Athena,
``output`` holds and prints results, ``ddl`` renders ``sql/ddl`` and the catalog entries.
The command is ``alleycat sql`` (``alleycat.cli.sql``).
"""

from alleycat.errors import AlleycatError


class SqlError(AlleycatError):
    """A query that cannot run (or cannot run faithfully); the message names the reason."""
