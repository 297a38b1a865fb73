"""Benchmarks: `make bench` runs every module listed in BENCHES and prints its figures."""

BENCHES = [
    "bench.producer",
    "bench.kafka",
    "bench.realtime",
    "bench.aggregator",
    "bench.sql",
    "bench.lake",
    "bench.api",
    "bench.page",
]
