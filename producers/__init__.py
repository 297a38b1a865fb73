"""Producers: the race simulator and the writers that put its events on the stream.

``sinks`` defines what a writer is (the ``Sink`` protocol), ``kinesis`` and ``kafka`` implement it,
``factory`` builds the one a run asks for, ``simulator`` makes the events, ``faults`` breaks some
of them on purpose, ``run`` paces a simulation into a sink and sums it up, ``progress`` shows a run
as it goes, and ``readback`` reads a stream back (the demo and the tests use it).
"""
