"""The local event source mapping runtime (Lambda's poller for Kinesis and DynamoDB Streams).

``alleycat consume`` (``alleycat.cli.consume``) runs it in the foreground; ``alleycat up`` starts it
as the stack's ``consumer`` worker (``infra.local.workers``). See ``runtime`` for the design and
docs/design.md for the contract.
"""
